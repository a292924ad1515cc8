"""Test setup: 8 virtual CPU devices (set before JAX is imported), repo root on sys.path, and
paths to the shared real-image datasets (tests that need them skip with a reason when absent)."""
import os
import sys

os.environ.setdefault('XLA_FLAGS', '--xla_force_host_platform_device_count=8')
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
