"""Test setup: 8 virtual CPU devices (set before JAX is imported), repo root on sys.path, a
throwaway cache folder, and paths to the shared real-image datasets (tests that need them skip
with a reason when absent)."""
import atexit
import os
import shutil
import sys
import tempfile

os.environ.setdefault('XLA_FLAGS', '--xla_force_host_platform_device_count=8')
# main.py run by tests keeps its compilation cache out of the user's home.
os.environ['XDG_CACHE_HOME'] = tempfile.mkdtemp(prefix='aedenoise-test-cache-')
atexit.register(shutil.rmtree, os.environ['XDG_CACHE_HOME'], ignore_errors=True)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

SHARED_DATA = os.environ.get('AEDENOISE_SHARED_DATA',
                             os.path.join(os.path.dirname(ROOT), 'shared', 'data'))


def shared_dataset(name: str) -> str:
  path = os.path.join(SHARED_DATA, name)
  if not os.path.isdir(path):
    pytest.skip(f'{path} not found (the shared datasets sit beside the repository)')
  return path


def tiny_config(model: str = 'single', **overrides):
  """The quick config shrunk to seconds: batch 8, a few steps, 4 evaluation images."""
  from aedenoise.configs import default  # pylint: disable=g-import-not-at-top
  config = default.get_config('quick')
  config.model = model
  config.batch_size = 8
  config.num_train_steps = 4
  config.log_every_steps = 1
  config.checkpoint_every_steps = 2
  config.data.num_eval = 4
  config.data.num_workers = 1
  config.eval.batch_size = 8
  config.eval.grid_images = 2
  for key, value in overrides.items():
    node = config
    *parents, leaf = key.split('.')
    for p in parents:
      node = node[p]
    node[leaf] = value
  return config
