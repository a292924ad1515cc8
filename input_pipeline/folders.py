"""Image files under a folder, and the deterministic train/val/test split of any listing.

Shared by the `folder:` and `pairs:` sources (and `tfds:` for its splits): a folder is listed
recursively and sorted; `split_files` cuts a listing the same way on every machine.
"""
from __future__ import annotations

import concurrent.futures
import logging
import os
import random

from aedenoise.input_pipeline import images as image_io
from aedenoise.input_pipeline.errors import SourceError


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
    self.ignored: list[str] = []  # files under root not named as images
    if files is None:
      listing = image_io.scan_folder(root)
      files, self.ignored = listing.images, listing.ignored + listing.special  # never opened
    self.files = files
    self.name = os.path.basename(os.path.normpath(root)) or 'folder'
    self.skipped: dict[str, str] = {}
    if not self.files:
      raise SourceError(f'no image files (of a format Pillow reads) under {root}' +
                        (f'; it holds {image_io.first_few(self.ignored)}' if self.ignored else ''))

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


def split_of(data_cfg, items: list, split: str) -> list:
  return split_files(items, split, int(data_cfg.split_seed), float(data_cfg.test_fraction),
                     float(data_cfg.val_fraction))


def stratified_split(files: list[str], split: str, data_cfg) -> list[str]:
  """`split_of` applied within each top-level subfolder (a class) and merged, so every class
  keeps its share in every split."""
  classes: dict[str, list[str]] = {}
  for f in files:
    classes.setdefault(f.split(os.sep)[0] if os.sep in f else '', []).append(f)
  return sorted(f for members in classes.values() for f in split_of(data_cfg, members, split))


def open_folder(arg: str, data_cfg, split: str) -> FolderSource:
  """`folder:PATH`: the images under PATH, cut to `split`."""
  if not arg:
    raise SourceError('folder source needs a path: folder:PATH')
  src = FolderSource(os.path.expanduser(arg), int(data_cfg.channels),
                     max_pixels=int(data_cfg.max_pixels))
  if src.ignored:
    logging.info('folder:%s: ignored %d file(s) not named as images: %s', arg,
                    len(src.ignored), image_io.first_few(src.ignored))
  # Split the listed files, then check only the chosen ones: the split does not depend on
  # which files happen to be broken, and a test split is not re-read for a train run.
  chosen = (stratified_split(src.files, split, data_cfg) if data_cfg.stratify
            else split_of(data_cfg, src.files, split))
  src = src.subset(chosen).checked(int(data_cfg.num_workers) * 2)
  logging.info('folder:%s: %d images (%s split)', arg, len(src), split)
  return src
