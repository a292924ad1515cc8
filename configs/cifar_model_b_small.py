"""Psychalas, "Exploring Convolutional Auto-encoders for Image Denoising" (2024): Model-B as the
study trained it (5,539 parameters; its checkpoint 35.pt), the net behind the reported Model-B
results. configs/cifar_model_b.py is the larger Model-B printed in the paper's Figure 5.

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

The study's run 35: MSE, Adam 5e-3, batch 32, 600 epochs of 20,000 images (375,000 steps);
validation PSNR 24.96 dB:
    python main.py --config=configs/cifar_model_b_small.py --workdir=runs/cifar_model_b_small
The quick variant, and real images offline, as in configs/cifar_model_c.py:
    python main.py --config=configs/cifar_model_b_small.py:quick --workdir=runs/cifar_b_quick
"""
from aedenoise.configs import cifar_model_c, default

RECIPE = {**cifar_model_c.RECIPE, 'batch_size': 32, 'num_train_steps': 375_000}


def get_config(arg=None):
  return default.get_config(arg, model='cifar_model_b_small', recipe=RECIPE,
                            quick=default.quick_run(2000, 32, {'learning_rate': 5e-3}))
