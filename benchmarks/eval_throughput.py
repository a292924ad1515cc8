r"""Evaluation throughput against the training step, per image, on the same model and machine.

Scores N random 8-bit images through `evaluate.Evaluator` (every degradation row of the config:
degrade with fixed keys, restore, PSNR/SSIM of the model and of the degraded input) after a
warm-up pass that compiles each row, and times the jitted train step at the config's batch size.
Prints one JSON line: evaluation images/s (an image scored under one degradation row counts once),
training images/s, and their ratio.

  python benchmarks/eval_throughput.py --config=configs/dual_skip.py --images=512
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app, flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from ml_collections import config_flags  # pylint: disable=g-import-not-at-top,wrong-import-position

from aedenoise import build, optim
from aedenoise import input_pipeline  # pylint: disable=g-import-not-at-top,wrong-import-position
from aedenoise.evaluation import evaluate
from aedenoise.runtime import parallel
from aedenoise.training import step, train_state  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', 'configs/dual_skip.py', 'Config file.')
flags.DEFINE_integer('images', 512, 'Evaluation images (each scored under every degradation row).')
flags.DEFINE_integer('steps', 5, 'Timed training steps after two warm-up steps.')


def main(argv):
  del argv
  config = FLAGS.config
  mesh = parallel.create_mesh()
  task = build.task(config)
  state = train_state.create_train_state(task, optim.create_optimizer(config),
                                         parallel.replicated(mesh))
  shape = task.target_shape(FLAGS.images)
  rng = np.random.default_rng(0)
  eval_set = input_pipeline.EvalSet('random', rng.integers(0, 256, shape, dtype=np.uint8), {})
  evaluator = evaluate.Evaluator(task, mesh)
  variables = state.variables()
  evaluator.run(variables, eval_set)  # compiles every row
  start = time.perf_counter()
  records, _ = evaluator.run(variables, eval_set)
  eval_s = time.perf_counter() - start
  scored = FLAGS.images * len({r['degradation'] for r in records})

  step_fn = step.make_train_step(task, mesh)
  batch = jax.device_put(
      {'target': rng.integers(0, 256, task.target_shape(config.batch_size), np.uint8)},
      parallel.batch_sharding(mesh))
  for _ in range(2):
    state, metrics = step_fn(state, batch)
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for _ in range(FLAGS.steps):
    state, metrics = step_fn(state, batch)
  jax.block_until_ready(metrics)
  train_ips = FLAGS.steps * config.batch_size / (time.perf_counter() - start)
  eval_ips = scored / eval_s
  print(json.dumps({'model': task.label, 'eval_batch_size': config.eval.batch_size,
                    'batch_size': config.batch_size, 'rows': scored // FLAGS.images,
                    'eval_images_per_sec': round(eval_ips, 1),
                    'train_images_per_sec': round(train_ips, 1),
                    'eval_over_train': round(eval_ips / train_ips, 2)}))


if __name__ == '__main__':
  app.run(main)
