r"""Training-step throughput on device-resident synthetic batches.

Times the real jitted train step (degradation, forward, backward, Adam update, metrics) of a config
after a warm-up, with the batch already on the device, so the figure is the model's cost alone.
Prints one JSON line. Examples:

  python benchmarks/train_throughput.py --config=configs/dual_skip.py --batch_size=128
  python benchmarks/train_throughput.py --processes=2   # as main.py --cpu_processes=2 trains
  XLA_FLAGS=--xla_force_host_platform_device_count=8 \
      python benchmarks/train_throughput.py --config=configs/dual_skip.py:quick
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from aedenoise.cpu import hostenv, launch  # pylint: disable=wrong-import-position

launch.take_assigned_cpus()  # in a process started by --processes
hostenv.use_huge_pages()  # as main.py does

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app, flags  # pylint: disable=g-import-not-at-top,wrong-import-position
from ml_collections import config_flags  # pylint: disable=g-import-not-at-top,wrong-import-position

from aedenoise import build, optim, policy
from aedenoise.runtime import parallel
from aedenoise.training import step, train_state  # pylint: disable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', 'configs/dual_skip.py', 'Config file.')
flags.DEFINE_integer('batch_size', 0, 'Global batch size (0 = the config\'s).')
flags.DEFINE_integer('steps', 5, 'Timed steps after the warm-up.')
flags.DEFINE_integer('warmup', 2, 'Untimed steps after the compile.')
flags.DEFINE_integer('processes', 1, 'Run as this many pinned processes of one run, as '
                     'main.py --cpu_processes does (Linux).')


def main(argv):
  del argv
  if FLAGS.processes > 1 and not launch.assignment():
    sys.exit(launch.run(FLAGS.processes, launch.without_flag(sys.argv, 'processes')))
  parallel.initialize_distributed()  # a process started by --processes joins the others
  config = FLAGS.config
  batch_size = FLAGS.batch_size or config.batch_size
  mesh = parallel.create_mesh()
  parallel.check_batch_size(batch_size, mesh)
  task = build.task(config)
  state = train_state.create_train_state(task, optim.create_optimizer(config),
                                         parallel.replicated(mesh))
  step_fn = step.make_train_step(task, mesh)
  rows = batch_size // jax.process_count()  # this process's rows of the global batch
  images = np.random.default_rng(jax.process_index()).integers(
      0, 256, task.target_shape(rows), dtype=np.uint8)
  batch = parallel.to_global({'target': images}, parallel.batch_sharding(mesh))

  start = time.perf_counter()
  compiled = step_fn.lower(state, batch).compile()
  compile_s = time.perf_counter() - start
  for _ in range(FLAGS.warmup):
    state, metrics = compiled(state, batch)
  jax.block_until_ready(metrics)
  times = []
  for _ in range(FLAGS.steps):
    start = time.perf_counter()
    state, metrics = compiled(state, batch)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
  step_s = float(np.median(times))
  if not parallel.is_main_process():
    return
  print(json.dumps({
      'model': task.label, 'conv_impl': task.conv_impl,
      'batch_size': batch_size, 'micro_batch_size': config.micro_batch_size,
      'backend': policy.backend(), 'devices': jax.device_count(),
      'processes': jax.process_count(),
      'huge_pages': hostenv.huge_pages_enabled(), 'compile_s': round(compile_s, 2),
      'step_ms': round(1000 * step_s, 1), 'step_ms_min': round(1000 * min(times), 1),
      'images_per_sec': round(batch_size / step_s, 1)}))


if __name__ == '__main__':
  app.run(main)
