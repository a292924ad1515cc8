"""Writes docs/degradation_gallery.png: one real photo under every degradation preset and option.

    python docs/make_gallery.py [--image=PATH] [--output=docs/degradation_gallery.png] [--tile=112]

The photo is a centre crop of Kodak24's kodim23 (from the shared data folder) when present, else
scikit-image's astronaut; every tile uses the same fixed key, so the gallery is reproducible.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
from PIL import Image, ImageDraw  # pylint: disable=g-import-not-at-top,wrong-import-position

from aedenoise import degradations  # pylint: disable=g-import-not-at-top,wrong-import-position

KODAK = os.path.join(os.path.dirname(ROOT), 'shared', 'data', 'kodak24', 'kodim23.png')
COLUMNS = 6
LABEL_HEIGHT = 14


def load_photo(path, tile):
  if path and os.path.exists(path):
    img = np.asarray(Image.open(path).convert('RGB'))
  else:
    from skimage import data  # pylint: disable=g-import-not-at-top
    img = data.astronaut()
  side = min(img.shape[:2])
  top, left = (img.shape[0] - side) // 2, (img.shape[1] - side) // 2
  crop = Image.fromarray(img[top:top + side, left:left + side]).resize((tile, tile), Image.LANCZOS)
  return np.asarray(crop, np.float32) / 255.0


def gallery_entries():
  """(label, spec): every preset, with a composed preset shown option by option."""
  entries = []
  for name in degradations.PRESETS:
    spec = degradations.resolve(name)
    if spec['kind'] == 'one_of':
      entries += [(f'{name}/{option}', s) for option, s in spec['options'].items()]
    else:
      entries.append((name, spec))
  seen, unique = set(), []
  for label, spec in entries:  # presets repeated inside a mix appear once
    key = repr(sorted(spec.items()))
    if key not in seen:
      seen.add(key)
      unique.append((label, spec))
  return unique


def render(photo, entries, tile):
  tiles = [('clean', photo)]
  for label, spec in entries:
    out = np.asarray(degradations.build_single(spec)(jax.random.key(0), jnp.asarray(photo)))
    if out.shape != photo.shape:  # super-resolution inputs: shown small, centred
      pad = np.ones_like(photo)
      top, left = (tile - out.shape[0]) // 2, (tile - out.shape[1]) // 2
      pad[top:top + out.shape[0], left:left + out.shape[1]] = out
      out = pad
    tiles.append((label, out))
  rows = -(-len(tiles) // COLUMNS)
  sheet = Image.new('RGB', (COLUMNS * tile, rows * (tile + LABEL_HEIGHT)), 'white')
  draw = ImageDraw.Draw(sheet)
  for i, (label, img) in enumerate(tiles):
    x, y = (i % COLUMNS) * tile, (i // COLUMNS) * (tile + LABEL_HEIGHT)
    sheet.paste(Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)),
                (x, y + LABEL_HEIGHT))
    short = label.replace('quality_', 'q_').replace('blur_mix/', 'blur/').replace('random_motion', 'shake')
    draw.text((x + 2, y + 1), short.replace('_blur', ''), fill='black')
  return sheet


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--image', default=KODAK)
  parser.add_argument('--output', default=os.path.join(ROOT, 'docs', 'degradation_gallery.png'))
  parser.add_argument('--tile', type=int, default=96)
  args = parser.parse_args()
  photo = load_photo(args.image, args.tile)
  sheet = render(photo, gallery_entries(), args.tile)
  sheet.save(args.output, optimize=True)
  print(f'wrote {args.output} ({os.path.getsize(args.output) // 1024} KiB)')


if __name__ == '__main__':
  main()
