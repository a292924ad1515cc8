"""Host input pipeline throughput: images/s per source, one JSON line each.

    python benchmarks/input_pipeline.py                       # the sources below that exist here
    python benchmarks/input_pipeline.py --sources=folder:PATH --batch_size=128 --num_workers=4

Each source feeds the training iterator exactly as `main.py` builds it (decode, crop/resize to the
configured size and channels, batch, prefetch, and the transfer to the device); nothing consumes
the batches, so the figure is the most the pipeline can deliver. Compare it with the train step's
images/s from benchmarks or a training log: the pipeline must be faster for the step to be the
limit.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DATA = os.path.join(os.path.dirname(ROOT), 'shared', 'data')

# (source, channels, fit): the sources of the README's commands.
DEFAULT_SOURCES = (
    ('builtin:dead_leaves', 1, 'crop'),
    ('builtin:skimage', 1, 'crop'),
    (f'folder:{DATA}/train400', 1, 'crop'),
    (f'folder:{DATA}/bsd68', 1, 'crop'),
    (f'folder:{DATA}/cbsd68', 3, 'crop'),
    (f'pairs:{DATA}/sidd_samples/noisy,{DATA}/sidd_samples/gt', 3, 'crop'),
    ('tfds:mnist', 1, 'resize'),
)


def measure(spec: str, channels: int, fit: str, args) -> dict:
  import jax  # pylint: disable=g-import-not-at-top
  from aedenoise.configs import default  # pylint: disable=g-import-not-at-top
  from aedenoise import input_pipeline  # pylint: disable=g-import-not-at-top
  from aedenoise.runtime import parallel  # pylint: disable=g-import-not-at-top

  config = default.get_config()
  config.batch_size = args.batch_size
  config.data.train = spec
  config.data.channels = channels
  config.data.fit = fit
  config.data.image_size = (args.image_size, args.image_size)
  config.data.num_workers = args.num_workers
  config.data.worker_processes = args.worker_processes
  config.data.prefetch = args.prefetch
  config.data.cache_mb = args.cache_mb
  config.data.tfds_data_dir = args.tfds_data_dir
  config.data.tfds_manual_dir = args.tfds_manual_dir
  sharding = parallel.batch_sharding(parallel.create_mesh())
  put = (lambda b: jax.block_until_ready(parallel.to_global(b, sharding))) if args.to_device else None
  t0 = time.perf_counter()
  try:
    batches = input_pipeline.create_train_iterator(config, start_step=0, put=put)
  except input_pipeline.DataError:  # a small set: take several random crops per image and epoch
    config.data.patches_per_image = args.small_set_patches
    batches = input_pipeline.create_train_iterator(config, start_step=0, put=put)
  try:
    for _ in range(args.warmup):
      next(batches)
    first = time.perf_counter() - t0
    start = time.perf_counter()
    for _ in range(args.batches):
      next(batches)
    seconds = time.perf_counter() - start
  finally:
    batches.close()
  return {'source': spec, 'channels': channels, 'fit': fit, 'image_size': args.image_size,
          'batch_size': args.batch_size, 'num_workers': args.num_workers,
          'worker_processes': args.worker_processes,
          'patches_per_image': config.data.patches_per_image, 'cache_mb': args.cache_mb,
          'batches': args.batches, 'seconds': round(seconds, 3),
          'images_per_sec': round(args.batches * args.batch_size / seconds, 1),
          'open_and_warmup_s': round(first, 2)}


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--sources', default='', help='comma-free list separated by ";"; '
                      'SPEC or SPEC|channels|fit (default: the README sources present here)')
  parser.add_argument('--batch_size', type=int, default=128)
  parser.add_argument('--batches', type=int, default=10)
  parser.add_argument('--warmup', type=int, default=2)
  parser.add_argument('--image_size', type=int, default=100)
  parser.add_argument('--num_workers', type=int, default=2)
  parser.add_argument('--worker_processes', type=int, default=0,
                      help='data.worker_processes: grain worker processes (0 = threads only)')
  parser.add_argument('--prefetch', type=int, default=2)
  parser.add_argument('--cache_mb', type=int, default=1024,
                      help='data.cache_mb; 0 decodes every image for every crop (cold figures)')
  parser.add_argument('--small_set_patches', type=int, default=64,
                      help='data.patches_per_image for sets smaller than one batch')
  parser.add_argument('--no_device', dest='to_device', action='store_false',
                      help='stop at host numpy batches (no device transfer)')
  parser.add_argument('--tfds_data_dir', default=os.path.join(ROOT, 'workdirs', 'tfds'))
  parser.add_argument('--tfds_manual_dir', default=os.path.join(DATA, 'mnist'))
  args = parser.parse_args()
  if args.sources:
    sources = []
    for item in args.sources.split(';'):
      spec, channels, fit = (item.split('|') + ['1', 'crop'])[:3] if '|' in item else (item, '1', 'crop')
      sources.append((spec, int(channels), fit))
  else:
    sources = [s for s in DEFAULT_SOURCES if not s[0].startswith(('folder:', 'pairs:'))
               or os.path.isdir(s[0].split(':', 1)[1].split(',')[0])]
  for spec, channels, fit in sources:
    try:
      print(json.dumps(measure(spec, channels, fit, args)), flush=True)
    except Exception as e:  # pylint: disable=broad-except
      print(json.dumps({'source': spec, 'error': f'{type(e).__name__}: {e}'}), flush=True)


if __name__ == '__main__':
  main()
