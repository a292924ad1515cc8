"""Random-access image sources named by one string: `builtin:NAME` or `folder:PATH`.

A source has `len()`, `name`, and `source[i] -> uint8 (H, W, C)` at the configured channels.
"""
from __future__ import annotations

import logging
import os
import random

import numpy as np

from input_pipeline import images as image_io
from input_pipeline import preprocess
from input_pipeline.dead_leaves import DeadLeaves


class SourceError(ValueError):
  """A source spec or its data cannot be used; the message says which and why."""


# Real photos that scikit-image ships in its wheel (no download).
SKIMAGE_PHOTOS = ('astronaut', 'camera', 'chelsea', 'coffee', 'coins', 'moon', 'rocket', 'clock',
                  'brick', 'grass', 'gravel', 'immunohistochemistry')


class SkimagePhotos:
  """Crops of the photos scikit-image ships: four per photo, from a 2x2 grid of the photo
  downscaled (box filter) so that its shorter side is twice the crop."""

  def __init__(self, image_size, channels):
    from skimage import data  # pylint: disable=g-import-not-at-top
    from PIL import Image  # pylint: disable=g-import-not-at-top
    self.name = 'skimage'
    crops = []
    h, w = image_size
    for photo in SKIMAGE_PHOTOS:
      arr = np.asarray(getattr(data, photo)())
      arr = image_io.to_channels(Image.fromarray(arr), channels)
      scale = 2 * max(h, w) / min(arr.shape[:2])
      arr = preprocess.resize(arr, (max(2 * h, round(arr.shape[0] * scale)),
                                    max(2 * w, round(arr.shape[1] * scale))), 'box')
      top, left = (arr.shape[0] - 2 * h) // 2, (arr.shape[1] - 2 * w) // 2
      for dy in (0, h):
        for dx in (0, w):
          crops.append(arr[top + dy:top + dy + h, left + dx:left + dx + w])
    self.images = np.stack(crops)

  def __len__(self):
    return len(self.images)

  def __getitem__(self, index):
    return self.images[index]


class FolderSource:
  """Image files under a folder (recursive, sorted), decoded on access.

  Files that fail to decode are skipped where they are met (the loader counts them); `check()`
  decodes everything up front when a clean list is needed.
  """

  def __init__(self, root: str, channels: int, files: list[str] | None = None):
    if not os.path.isdir(root):
      raise SourceError(f'folder not found: {root}')
    self.root = root
    self.channels = channels
    self.files = image_io.list_images(root) if files is None else files
    self.name = os.path.basename(os.path.normpath(root)) or 'folder'
    if not self.files:
      raise SourceError(f'no image files ({", ".join(image_io.IMAGE_EXTENSIONS)}) under {root}')

  def __len__(self):
    return len(self.files)

  def __getitem__(self, index):
    return image_io.read_image(os.path.join(self.root, self.files[index]), self.channels)

  def subset(self, files: list[str]) -> 'FolderSource':
    return FolderSource(self.root, self.channels, files)


SPLITS = ('all', 'train', 'val', 'test')


def split_files(files: list[str], split: str, seed: int, test_fraction: float,
                val_fraction: float) -> list[str]:
  """Deterministic split: shuffle with random.Random(seed), the first `test_fraction` of the
  shuffled list is test, then `val_fraction` of the remainder is validation, the rest train
  (seed 000's recipe: Random(1234), 20% test, 10% of train as validation)."""
  if split == 'all':
    return list(files)
  if split not in SPLITS:
    raise SourceError(f'split must be one of {SPLITS}, got {split!r}')
  order = list(files)
  random.Random(seed).shuffle(order)
  n_test = int(round(test_fraction * len(order)))
  test, rest = order[:n_test], order[n_test:]
  n_val = int(round(val_fraction * len(rest)))
  val, train = rest[:n_val], rest[n_val:]
  chosen = {'train': train, 'val': val, 'test': test}[split]
  if not chosen:
    raise SourceError(f'the {split!r} split of {len(files)} images is empty')
  return sorted(chosen)


def open_source(spec: str, data_cfg, split: str):
  """Builds the source named by `spec` ('builtin:NAME' or 'folder:PATH')."""
  kind, _, arg = spec.partition(':')
  size, channels = tuple(data_cfg.image_size), int(data_cfg.channels)
  if kind == 'builtin':
    if arg == 'dead_leaves':
      return DeadLeaves(size, channels, seed=int(data_cfg.get('builtin_seed', 0)))
    if arg == 'skimage':
      return SkimagePhotos(size, channels)
    raise SourceError(f'unknown builtin source {arg!r}; known: dead_leaves, skimage')
  if kind == 'folder':
    if not arg:
      raise SourceError('folder source needs a path: folder:PATH')
    src = FolderSource(os.path.expanduser(arg), channels)
    files = split_files(src.files, split, int(data_cfg.split_seed),
                        float(data_cfg.test_fraction), float(data_cfg.val_fraction))
    logging.info('%s: %d images (%s split)', spec, len(files), split)
    return src.subset(files)
  raise SourceError(f'unknown source {spec!r}; expected builtin:NAME or folder:PATH')
