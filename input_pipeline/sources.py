"""Random-access image sources named by one string: `builtin:NAME`, `folder:PATH`,
`pairs:NOISY_DIR,CLEAN_DIR` or `tfds:NAME[:SPLIT]`.

A source has `len()`, `name`, and `source[i] -> example`, a dict of uint8 (H, W, C) images at the
configured channels: `'target'` (the clean image), `'input'` when the degraded image comes from
disk (`paired = True`: a real noisy partner, or a low-resolution image of another size), and
`'label'` when the dataset has one. `skipped` maps files found unusable when the source was opened
to the reason.
"""
from __future__ import annotations

import concurrent.futures
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
    return {'target': self.images[index]}


def describe_skipped(skipped: dict, limit: int = 3) -> str:
  """'a.png (empty file); b.png (...)' for the first `limit` entries of {path: reason}."""
  return '; '.join(f'{p} ({r})' for p, r in list(skipped.items())[:limit])


def check_files(paths: list[str], num_workers: int = 4) -> dict[str, str]:
  """{path: reason} for the files whose header says they are not usable images (in parallel:
  the checks are I/O and PIL releases the GIL)."""
  def check(path):
    try:
      image_io.check_file(path)
    except image_io.ImageReadError as e:
      return path, e.reason
    return None
  with concurrent.futures.ThreadPoolExecutor(max(1, num_workers)) as pool:
    return dict(r for r in pool.map(check, paths) if r is not None)


class FolderSource:
  """Image files under a folder (recursive, sorted), decoded on access.

  `checked()` drops files whose header is unusable (empty, not an image, broken PNG chunks) and
  logs one warning line; files that only fail when decoded (e.g. a truncated JPEG) are skipped and
  counted by the loader where they are met.
  """

  def __init__(self, root: str, channels: int, files: list[str] | None = None,
               max_pixels: int = image_io.DEFAULT_MAX_PIXELS):
    if not os.path.isdir(root):
      raise SourceError(f'folder not found: {root}')
    self.root = root
    self.channels = channels
    self.max_pixels = max_pixels
    self.files = image_io.list_images(root) if files is None else files
    self.name = os.path.basename(os.path.normpath(root)) or 'folder'
    self.skipped: dict[str, str] = {}
    if not self.files:
      raise SourceError(f'no image files ({", ".join(image_io.IMAGE_EXTENSIONS)}) under {root}')

  def __len__(self):
    return len(self.files)

  def __getitem__(self, index):
    path = os.path.join(self.root, self.files[index])
    return {'target': image_io.read_image(path, self.channels, self.max_pixels)}

  def subset(self, files: list[str]) -> 'FolderSource':
    return FolderSource(self.root, self.channels, files, self.max_pixels)

  def checked(self, num_workers: int = 4) -> 'FolderSource':
    """This source without the files that are not usable images; raises SourceError if none is."""
    skipped = check_files([os.path.join(self.root, f) for f in self.files], num_workers)
    good = [f for f in self.files if os.path.join(self.root, f) not in skipped]
    if not good:
      raise SourceError(f'no usable image under {self.root}: all {len(self.files)} image files '
                        f'are unreadable, e.g. {describe_skipped(skipped)}')
    out = self.subset(good)
    out.skipped = skipped
    if skipped:
      logging.warning('%s: skipped %d of %d files that are not usable images: %s', self.root,
                      len(skipped), len(self.files), describe_skipped(skipped))
    return out


class Subset:
  """Random-access view of `source` at `indices` (a TFDS split cut like a folder)."""

  def __init__(self, source, indices):
    self.source, self.indices = source, list(indices)
    self.name = source.name
    self.paired = getattr(source, 'paired', False)
    self.skipped = getattr(source, 'skipped', {})

  def __len__(self):
    return len(self.indices)

  def __getitem__(self, index):
    return self.source[self.indices[index]]


SPLITS = ('all', 'train', 'val', 'test')


def split_files(files: list[str], split: str, seed: int, test_fraction: float,
                val_fraction: float) -> list[str]:
  """Deterministic split: shuffle with random.Random(seed), the first `test_fraction` of the
  shuffled list is test, then `val_fraction` of the remainder is validation, the rest train
  (the dual-autoencoder study's recipe: Random(1234), 20% test, 10% of train as validation)."""
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


def _split(data_cfg, items: list, split: str) -> list:
  return split_files(items, split, int(data_cfg.split_seed), float(data_cfg.test_fraction),
                     float(data_cfg.val_fraction))


def open_source(spec: str, data_cfg, split: str):
  """Builds the source named by `spec`; `split` ('all', 'train', 'val', 'test') cuts folders,
  pairs and TFDS datasets named without a split, deterministically from `data_cfg.split_seed`."""
  kind, _, arg = spec.partition(':')
  size, channels = tuple(data_cfg.image_size), int(data_cfg.channels)
  max_pixels = int(data_cfg.get('max_pixels', image_io.DEFAULT_MAX_PIXELS))
  if kind == 'builtin':
    if arg == 'dead_leaves':
      return DeadLeaves(size, channels, seed=int(data_cfg.get('builtin_seed', 0)))
    if arg == 'skimage':
      return SkimagePhotos(size, channels)
    raise SourceError(f'unknown builtin source {arg!r}; known: dead_leaves, skimage')
  if kind == 'folder':
    if not arg:
      raise SourceError('folder source needs a path: folder:PATH')
    src = FolderSource(os.path.expanduser(arg), channels, max_pixels=max_pixels)
    # Split the listed files, then check only the chosen ones: the split does not depend on
    # which files happen to be broken, and a test split is not re-read for a train run.
    src = src.subset(_split(data_cfg, src.files, split)).checked(int(data_cfg.num_workers) * 2)
    logging.info('%s: %d images (%s split)', spec, len(src), split)
    return src
  if kind == 'pairs':
    from input_pipeline import pairs  # pylint: disable=g-import-not-at-top
    dirs = [d.strip() for d in arg.split(',')]
    if len(dirs) != 2 or not all(dirs):
      raise SourceError(f'pairs source needs two folders: pairs:NOISY_DIR,CLEAN_DIR, got {spec!r}')
    src = pairs.PairSource(os.path.expanduser(dirs[0]), os.path.expanduser(dirs[1]), channels,
                           max_pixels=max_pixels)
    src = src.subset(_split(data_cfg, list(range(len(src))), split))
    src = src.checked(int(data_cfg.num_workers) * 2)
    logging.info('%s: %d pairs (%s split)', spec, len(src), split)
    return src
  if kind == 'tfds':
    from input_pipeline import tfds_source  # pylint: disable=g-import-not-at-top
    name, _, tfds_split = arg.partition(':')
    if not name:
      raise SourceError('tfds source needs a dataset name: tfds:NAME[:SPLIT], e.g. tfds:mnist')
    if tfds_split:  # an explicit TFDS split (slicing syntax allowed) is used as it is
      return tfds_source.TfdsSource(name, tfds_split, data_cfg)
    src = tfds_source.TfdsSource(name, 'train', data_cfg)
    if split == 'all':
      return src
    return Subset(src, _split(data_cfg, list(range(len(src))), split))
  raise SourceError(f'unknown source {spec!r}; expected builtin:NAME, folder:PATH, '
                    f'pairs:NOISY_DIR,CLEAN_DIR or tfds:NAME[:SPLIT]')
