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


def main(argv: list[str]) -> int:
  if len(argv) < 4 or len(argv) % 2:
    print('usage: python load_exported.py MODEL.jax IN.npy OUT.npy [IN2.npy OUT2.npy ...]',
          file=sys.stderr)
    return 2
  try:
    call, contract = load(argv[1])
  except ImportError as e:  # jax reads the file with flatbuffers, which it does not install
    print(f'error: {e} (pip install flatbuffers==25.12.19)', file=sys.stderr)
    return 2
  for input_path, output_path in zip(argv[2::2], argv[3::2]):
    images = np.load(input_path).astype(np.float32)
    single = images.ndim == 3
    restored = np.asarray(call(images[None] if single else images))
    saved = restored[0] if single else restored  # the input's layout
    np.save(output_path, saved)
    print(json.dumps({'model': contract.get('label', '?'), 'input': list(images.shape),
                      'output': list(saved.shape), 'backend': jax.default_backend()}))
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
