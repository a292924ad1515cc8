r"""Restore throughput: one photo restored through the Python API (`aedenoise.load(W)(image)`),
NumPy uint8 in and out, in megapixels/s, with where the time goes, beside a PyTorch peer of the
same U-Net on the same CPU in the same sitting (benchmarks/peers/torch_unet_restore.py, run from
the venv `--peer_python` names: one holding torch and numpy).

  python benchmarks/restore_throughput.py [--workdir=pretrained/unet_grey_blind] \
      [--size=512x768] [--rounds=5] [--tile=0,1024] [--peer_python=VENV/bin/python]

Each setting prints one JSON line: `megapixels_per_sec` (median of `rounds` calls after one that
compiles), `device_share` (the part of a call spent in the jitted model on tile batches; the rest
is the host: conversion, mirroring, cutting and blending tiles) and `tiled_pixels` (pixels the
model computes per image pixel: the overlap's and the padding's cost). Figures: docs/PERFORMANCE.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import jax
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import aedenoise  # pylint: disable=wrong-import-position
from aedenoise.input_pipeline import dead_leaves  # pylint: disable=wrong-import-position
from aedenoise.models import contract  # pylint: disable=wrong-import-position
from aedenoise.restoration import tiling  # pylint: disable=wrong-import-position
from aedenoise.runtime import workdir as workdir_lib  # pylint: disable=wrong-import-position


def photo(size: tuple[int, int], channels: int) -> np.ndarray:
  """A photo-like image (dead leaves) with Gaussian noise of sigma 25, uint8."""
  rng = np.random.default_rng(0)
  clean = dead_leaves.render(rng, size, channels).astype(np.float32)
  return np.clip(np.round(clean + rng.normal(0, 25, clean.shape)), 0, 255).astype(np.uint8)


def measure(denoiser, image: np.ndarray, rounds: int) -> dict:
  restorer = denoiser.restorer
  run, device, tiles = restorer._run, [], []  # pylint: disable=protected-access

  def timed_run(batch, size):
    start = time.perf_counter()
    out = run(batch, size)
    device.append(time.perf_counter() - start)
    tiles.append((len(batch), batch.shape[1:3]))
    return out
  restorer._run = timed_run  # pylint: disable=protected-access
  restored = denoiser(image)  # compiles
  calls = []
  for _ in range(rounds):
    device.clear()
    tiles.clear()
    start = time.perf_counter()
    denoiser(image)
    calls.append((time.perf_counter() - start, sum(device), list(tiles)))
  restorer._run = run  # pylint: disable=protected-access
  seconds, device_s, runs = sorted(calls)[len(calls) // 2]
  pixels = image.shape[0] * image.shape[1]
  return {'tile': list(runs[0][1]), 'overlap': restorer.overlap,
          'tiles': sum(n for n, _ in runs), 'seconds': round(seconds, 4),
          'megapixels_per_sec': round(pixels / 1e6 / seconds, 4),
          'device_share': round(device_s / seconds, 3),
          'tiled_pixels': round(sum(n * h * w for n, (h, w) in runs) / pixels, 2)}, restored


def weights_file(denoiser, image, restored, path: str) -> None:
  """The U-Net's parameters by layer, its input and restoration, for the PyTorch peer."""
  params = jax.device_get(denoiser.restorer.variables[contract.PARAMS])
  arrays = {f'{layer}/{name}': np.asarray(value) for layer, leaves in params.items()
            for name, value in leaves.items()}
  kwargs = dict(denoiser.config.model_kwargs or {})
  margin = tiling.margin(denoiser.restorer.overlap, denoiser.restorer.geometry.multiple)
  np.savez(path, noisy_u8=image, restored_u8=restored, residual=kwargs.get('residual', True),
           margin=margin,
           features=np.asarray(kwargs.get('features', (32, 64, 128))), **arrays)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--workdir', default=os.path.join(ROOT, 'pretrained', 'unet_grey_blind'))
  parser.add_argument('--size', default='512x768', help='HxW of the photo')
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--tile', default='0,1024', help='--tile settings to time (0: default)')
  parser.add_argument('--conv_impl', default='auto', help='auto, or lax / matmul, comma-separated')
  parser.add_argument('--peer_python', default='', help='a python with torch: runs the peer')
  args = parser.parse_args()
  h, w = (int(v) for v in args.size.split('x'))
  config = workdir_lib.load_config(args.workdir)
  image = photo((h, w), int(config.data.channels))
  cpu = _cpu()
  restored = None
  for impl in args.conv_impl.split(','):
    for tile in (int(t) for t in args.tile.split(',')):
      config.conv_impl = impl
      denoiser = aedenoise.load(args.workdir, config=config, tile=tile)
      row, out = measure(denoiser, image, args.rounds)
      restored = out  # the last setting's: the peer is compared with it
      print(json.dumps({'restore': f'aedenoise {config.model}', 'conv_impl': impl,
                        'size': [h, w], **row, 'cpu': cpu}), flush=True)
  if args.peer_python:
    if config.model != 'unet':
      sys.exit(f'the PyTorch peer is the U-Net; {args.workdir} holds {config.model}')
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, 'unet.npz')
      weights_file(denoiser, image, restored, path)
      subprocess.run([args.peer_python, os.path.join(ROOT, 'benchmarks', 'peers',
                                                     'torch_unet_restore.py'),
                      f'--npz={path}', f'--rounds={args.rounds}'], check=True)


def _cpu() -> str:
  try:
    info = open('/proc/cpuinfo', encoding='utf-8').read()
  except OSError:
    return 'unknown'
  name = next((l.split(':', 1)[1].strip() for l in info.splitlines()
               if l.startswith('model name')), 'unknown')
  flags = next((l for l in info.splitlines() if l.startswith('flags')), '')
  return f'{name}, {os.cpu_count()} cores, ' + ('AVX-512' if 'avx512f' in flags else 'AVX2')


if __name__ == '__main__':
  main()
