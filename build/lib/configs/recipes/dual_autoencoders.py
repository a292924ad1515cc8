"""Khandelwal & Sharma 2023, dual autoencoders: the quick runs of its six models.

The study's recipe itself is configs/default.py's. Each quick run is batch 16 on procedural
images, with steps chosen so that it ends above the noisy input on all four of the study's noises
(the smaller models are cheaper per step and need more steps; docs/PERFORMANCE.md).
"""
QUICK_STEPS = {'single': 1600, 'single_sep': 1600, 'dual': 800, 'dual_sep': 800,
               'dual_skip': 400, 'dual_skip_sep': 400}


def quick(model: str) -> dict:
  steps = QUICK_STEPS[model]
  return {'batch_size': 16, 'num_train_steps': steps, 'log_every_steps': steps // 16,
          'checkpoint_every_steps': steps // 4, 'eval_every_steps': 0, 'eval.batch_size': 48}
