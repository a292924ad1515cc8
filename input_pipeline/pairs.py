"""Degraded/clean pairs from two folders (`pairs:NOISY_DIR,CLEAN_DIR`), e.g. SIDD.

The degraded image of a pair is the example's `'input'`, the clean one its `'target'`. They have the
same size (real noise), or the input is the target shrunk by an integer factor (super-resolution
pairs); anything else is skipped like an unreadable file.

Files are matched by their path relative to each folder, without the extension and ignoring case
and the words that only name the role of a file (`NOISY`, `GT`, `clean`, ... as whole words
separated by `_`, `-`, `.` or spaces), so SIDD's `noisy/NOISY_0.png` pairs with `gt/GT_0.png` and
`noisy/a/x.png` with `clean/a/x.jpg`. Every file must have exactly one partner: anything left over
or ambiguous is an error that names the files, since silently training on half a dataset is worse
than stopping.
"""
from __future__ import annotations

import logging
import os
import re

from aedenoise.input_pipeline import images as image_io
from aedenoise.input_pipeline import preprocess
from aedenoise.input_pipeline.errors import SourceError
from aedenoise.input_pipeline.folders import FolderSource, check_files, describe_skipped, split_of

ROLE_WORDS = frozenset({'noisy', 'noise', 'gt', 'clean', 'groundtruth', 'target', 'input',
                        'mean', 'lq', 'hq'})


def pair_key(relpath: str) -> str:
  """The name two partner files share: relative path, no extension, no role words, lower case."""
  folder, base = os.path.split(relpath.lower())
  words = [w for w in re.split(r'[_\-. ]+', os.path.splitext(base)[0]) if w]
  kept = [w for w in words if w not in ROLE_WORDS] or words
  return os.path.join(folder, '_'.join(kept))


def _keyed(files: list[str], root: str) -> dict[str, str]:
  keyed: dict[str, str] = {}
  for f in files:
    key = pair_key(f)
    if key in keyed:
      raise SourceError(f'pairs: {os.path.join(root, keyed[key])} and {os.path.join(root, f)} '
                        f'have the same name once role words are ignored; rename one')
    keyed[key] = f
  return keyed


def match_files(noisy_root: str, noisy: list[str], clean_root: str,
                clean: list[str]) -> list[tuple[str, str]]:
  """[(noisy_relpath, clean_relpath)] sorted by noisy path; SourceError if any file is unmatched."""
  n, c = _keyed(noisy, noisy_root), _keyed(clean, clean_root)
  only_noisy = sorted(n[k] for k in set(n) - set(c))
  only_clean = sorted(c[k] for k in set(c) - set(n))
  if only_noisy or only_clean:
    parts = []
    if only_noisy:
      parts.append(f'{len(only_noisy)} noisy image(s) without a clean partner in {clean_root} '
                   f'(e.g. {", ".join(only_noisy[:3])})')
    if only_clean:
      parts.append(f'{len(only_clean)} clean image(s) without a noisy partner in {noisy_root} '
                   f'(e.g. {", ".join(only_clean[:3])})')
    raise SourceError('pairs do not match: ' + '; '.join(parts))
  return sorted((n[k], c[k]) for k in n)


class PairSource:
  """source[i] -> {'input': noisy uint8 (h, w, C), 'target': clean uint8 (H, W, C)}."""

  paired = True

  def __init__(self, noisy_root: str, clean_root: str, channels: int,
               pairs: list[tuple[str, str]] | None = None,
               max_pixels: int = image_io.DEFAULT_MAX_PIXELS):
    self.noisy_root, self.clean_root, self.channels = noisy_root, clean_root, channels
    self.max_pixels = max_pixels
    if pairs is None:
      noisy, clean = FolderSource(noisy_root, channels), FolderSource(clean_root, channels)
      pairs = match_files(noisy_root, noisy.files, clean_root, clean.files)
    self.pairs = pairs
    self.skipped: dict[str, str] = {}
    parent = os.path.dirname(os.path.normpath(noisy_root))
    same_parent = parent == os.path.dirname(os.path.normpath(clean_root))
    self.name = os.path.basename(parent if same_parent and parent else
                                 os.path.normpath(noisy_root)) or 'pairs'

  def __len__(self):
    return len(self.pairs)

  def paths(self, index: int) -> tuple[str, str]:
    n, c = self.pairs[index]
    return os.path.join(self.noisy_root, n), os.path.join(self.clean_root, c)

  def __getitem__(self, index):
    noisy_path, clean_path = self.paths(index)
    noisy = image_io.read_image(noisy_path, self.channels, self.max_pixels)
    clean = image_io.read_image(clean_path, self.channels, self.max_pixels)
    try:
      preprocess.input_scale(clean, noisy)
    except ValueError:
      raise image_io.ImageReadError(noisy_path, f'size {noisy.shape[1]}x{noisy.shape[0]} does not '
                                    f'match its clean partner ({clean.shape[1]}x{clean.shape[0]})'
                                    ) from None
    return {'input': noisy, 'target': clean}

  def subset(self, indices) -> 'PairSource':
    return PairSource(self.noisy_root, self.clean_root, self.channels,
                      [self.pairs[i] for i in indices], self.max_pixels)

  def checked(self, num_workers: int = 4) -> 'PairSource':
    """Without the pairs of which either file is not a usable image; SourceError if none is left."""
    skipped = check_files([p for i in range(len(self)) for p in self.paths(i)], num_workers)
    good = [i for i in range(len(self)) if not any(p in skipped for p in self.paths(i))]
    if not good:
      raise SourceError(f'no usable pair in {self.noisy_root} and {self.clean_root}: '
                        f'e.g. {describe_skipped(skipped)}')
    out = self.subset(good)
    out.skipped = skipped
    if skipped:
      logging.warning('pairs: skipped %d of %d pairs with an unusable file: %s',
                      len(self) - len(good), len(self), describe_skipped(skipped))
    return out


def open_pairs(arg: str, data_cfg, split: str) -> PairSource:
  """`pairs:NOISY_DIR,CLEAN_DIR`: the matched pairs, cut to `split`."""
  dirs = [d.strip() for d in arg.split(',')]
  if len(dirs) != 2 or not all(dirs):
    raise SourceError(f'pairs source needs two folders: pairs:NOISY_DIR,CLEAN_DIR, got '
                      f'{"pairs:" + arg!r}')
  src = PairSource(os.path.expanduser(dirs[0]), os.path.expanduser(dirs[1]), int(data_cfg.channels),
                   max_pixels=int(data_cfg.max_pixels))
  src = src.subset(split_of(data_cfg, list(range(len(src))), split))
  src = src.checked(int(data_cfg.num_workers) * 2)
  logging.info('pairs:%s: %d pairs (%s split)', arg, len(src), split)
  return src


def dataset_name(arg: str) -> str:
  """'x/sidd/noisy,x/sidd/gt' -> 'sidd' (the folders' common parent), else the noisy folder's."""
  dirs = [d.rstrip('/').split('/') for d in arg.split(',')]
  same = len(dirs) == 2 and len(dirs[0]) > 1 and dirs[0][:-1] == dirs[1][:-1]
  return dirs[0][-2] if same else dirs[0][-1]

