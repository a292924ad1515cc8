"""Time degrading one training batch on the device, under jit; prints one JSON line.

    python benchmarks/degradation_speed.py [--batch=128] [--size=100] [--channels=1] [--repeats=10]

The figure to compare with is the train step of the same batch (the dual-autoencoder study: 128 x 100 x 100 x 1): the
degradation runs inside that step, so its share of the step is what it costs. Times are the median
of `repeats` runs after one warm-up run (which also compiles); compile time is reported apart.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from aedenoise.cpu import hostenv  # pylint: disable=wrong-import-position

hostenv.use_huge_pages()  # as main.py does, so the figures compare with the step's

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top,wrong-import-position

from aedenoise import degradations  # pylint: disable=g-import-not-at-top,wrong-import-position

DEFAULT_PRESETS = ('faces_mix', 'blur_mix', 'cifar_mix', 'quality_mix', 'sr_x4_nni')


def time_preset(name, images, repeats):
  degrade = jax.jit(degradations.build(degradations.resolve(name)))
  start = time.perf_counter()
  jax.block_until_ready(degrade(jax.random.key(0), images))
  first = time.perf_counter() - start
  runs = []
  for i in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(degrade(jax.random.key(i + 1), images))
    runs.append(time.perf_counter() - start)
  return {'median_s': round(statistics.median(runs), 4), 'min_s': round(min(runs), 4),
          'first_call_s': round(first, 2)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch', type=int, default=128)
  parser.add_argument('--size', type=int, default=100)
  parser.add_argument('--channels', type=int, default=1)
  parser.add_argument('--repeats', type=int, default=10)
  parser.add_argument('--presets', default=','.join(DEFAULT_PRESETS))
  args = parser.parse_args()
  shape = (args.batch, args.size, args.size, args.channels)
  images = jax.random.uniform(jax.random.key(123), shape, jnp.float32)
  result = {'benchmark': 'degradation_speed', 'shape': list(shape),
            'device': jax.devices()[0].device_kind, 'devices': jax.device_count(),
            'cpu_count': os.cpu_count(), 'repeats': args.repeats}
  result['presets'] = {name: time_preset(name, images, args.repeats)
                       for name in args.presets.split(',')}
  print(json.dumps(result))


if __name__ == '__main__':
  main()
