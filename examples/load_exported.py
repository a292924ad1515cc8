"""Runs a model written by `main.py --mode=export` with nothing but jax, numpy and flatbuffers
(which jax.export reads its files with):

    pip install jax==0.10.2 flatbuffers==25.12.19

    python load_exported.py MODEL.jax IN.npy OUT.npy [IN2.npy OUT2.npy ...]

Each IN.npy holds float32 images in [0, 1], (H, W, C) or (N, H, W, C); its OUT.npy gets the
restored images in the same layout. The file carries the weights and the program lowered for CPU
and CUDA (JAX runs the one for its default device); a fully convolutional model takes every size
its contract allows (multiples of its stride, MODEL.jax.json) from the one file. This script
imports nothing of the project, so it runs wherever JAX is installed.
"""
import json
import os
import sys

import jax
import numpy as np


def load(path: str):
  """(call, contract): the exported function and MODEL.jax.json's description of its input (an
  empty dict if the JSON is absent)."""
  with open(path, 'rb') as f:
    exported = jax.export.deserialize(bytearray(f.read()))
  contract = {}
  if os.path.exists(path + '.json'):
    with open(path + '.json', encoding='utf-8') as f:
      contract = json.load(f)
  return exported.call, contract


def problem(images: np.ndarray, contract: dict) -> str | None:
  """Why `images` ((H, W, C) or (N, H, W, C)) cannot go through the model, by its contract; None
  if they can (or the contract is absent)."""
  if images.ndim not in (3, 4):
    return f'images are (H, W, C) or (N, H, W, C), got shape {images.shape}'
  spec = contract.get('input', {})
  h, w, c = images.shape[-3:]
  if spec.get('channels') and c != spec['channels']:
    return f'{c} channel(s); the model takes {spec["channels"]}'
  if spec.get('fixed_size') and [h, w] != list(spec['fixed_size']):
    return f'{h}x{w}; the model takes {spec["fixed_size"][0]}x{spec["fixed_size"][1]} only'
  m, low = spec.get('multiple', 1), spec.get('min_size', [1, 1])
  if h % m or w % m or h < low[0] or w < low[1]:
    return (f'{h}x{w}; the model takes multiples of {m} from {low[0]}x{low[1]} (pad or crop '
            f'the image first)')
  return None


def main(argv: list[str]) -> int:
  if len(argv) < 4 or len(argv) % 2:
    print('usage: python load_exported.py MODEL.jax IN.npy OUT.npy [IN2.npy OUT2.npy ...]',
          file=sys.stderr)
    return 2
  for path in argv[1:3] + argv[4::2]:  # what is read: never a FIFO or device, which may block
    if not os.path.isfile(path):
      print(f'error: {path} is not a regular file', file=sys.stderr)
      return 2
  try:
    call, contract = load(argv[1])
  except ImportError as e:  # jax reads the file with flatbuffers, which it does not install
    print(f'error: {e} (pip install flatbuffers==25.12.19)', file=sys.stderr)
    return 2
  except Exception as e:  # pylint: disable=broad-except  (truncated, or no export at all)
    print(f'error: {argv[1]} is not a model written by --mode=export '
          f'({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""})', file=sys.stderr)
    return 2
  for input_path, output_path in zip(argv[2::2], argv[3::2]):
    try:
      images = np.load(input_path).astype(np.float32)
    except (OSError, ValueError) as e:
      print(f'error: cannot read {input_path}: {e}', file=sys.stderr)
      return 2
    why = problem(images, contract)
    if why is not None:
      print(f'error: {input_path}: {why}', file=sys.stderr)
      return 2
    single = images.ndim == 3
    restored = np.asarray(call(images[None] if single else images))
    saved = restored[0] if single else restored  # the input's layout
    np.save(output_path, saved)
    print(json.dumps({'model': contract.get('label', '?'), 'input': list(images.shape),
                      'output': list(saved.shape), 'backend': jax.default_backend()}))
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
