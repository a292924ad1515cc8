"""Standard test sets on whole images: loading, the DnCNN/KAIR noise, and scoring images of any size.

Convention (DnCNN's and KAIR's test scripts): the clean 8-bit image x in [0, 1], grey for BSD68 and
Set12, RGB for CBSD68, Kodak24 and McMaster; noisy = x + (sigma / 255) N(0, 1), neither clipped nor
quantised. Image i's noise key is fold_in(named_key(seed, '<set>/<relative path>'), sigma): the same
on every run and device, whatever else is in the folder.
"""
from __future__ import annotations

import dataclasses
import os

import jax
import numpy as np

from aedenoise import degradations, metrics
from aedenoise.input_pipeline import images as image_io

GREY_SETS = ('bsd68', 'set12')
COLOUR_SETS = ('cbsd68', 'kodak24', 'mcmaster')


@dataclasses.dataclass
class TestSet:
  name: str
  names: list[str]       # relative paths of the readable images
  clean: list            # uint8 (H, W, C) arrays
  skipped: list[str]     # 'path: reason' of unreadable files
  converted: list[str] = dataclasses.field(default_factory=list)  # files of other channels

  def notes(self) -> list[str]:
    """Lines for the user about what was done to the set's files."""
    if not self.converted:
      return []
    kind = 'grey' if self.clean and self.clean[0].shape[-1] == 1 else 'colour'
    return [f'{self.name}: {len(self.converted)} image(s) of other channels than the set\'s were '
            f'scored in {kind} like the rest: {image_io.first_few(self.converted)}']


def set_channels(name: str, root: str, first: str) -> int:
  """The channels a set is scored in: by its name for the standard sets, else its first file's."""
  key = name.lower()
  if key in GREY_SETS:
    return 1
  if key in COLOUR_SETS:
    return 3
  return image_io.file_channels(os.path.join(root, first))


def load_set(name: str, root: str, limit: int = 0, channels: int = 0) -> TestSet:
  """The readable images under `root` (the first `limit`), with `channels` (0: the set's own)."""
  files = image_io.list_images(root)
  channels = channels or (set_channels(name, root, files[0]) if files else 1)
  test = TestSet(name, [], [], [])
  for rel in files:
    if limit and len(test.names) >= limit:
      break
    try:
      test.clean.append(image_io.read_image(os.path.join(root, rel), channels))
      test.names.append(rel)
      if image_io.file_channels(os.path.join(root, rel)) != channels:
        test.converted.append(rel)
    except image_io.ImageReadError as e:
      test.skipped.append(str(e))
  return test


def noise_key(seed: int, set_name: str, rel: str, sigma: int) -> jax.Array:
  return jax.random.fold_in(
      degradations.named_key(seed, f'{set_name}/{rel.replace(os.sep, "/")}'), sigma)


def add_noise(clean_u8, key, sigma: int) -> np.ndarray:
  """x + (sigma / 255) N(0, 1) in float32, unclipped (DnCNN/KAIR)."""
  x = clean_u8.astype(np.float32) / 255.0
  return x + np.asarray(jax.random.normal(key, x.shape, np.float32)) * (sigma / 255.0)


def score_each(images, clean_u8, conv: metrics.Convention) -> list[tuple[float, float]]:
  """(PSNR, SSIM) of each image against its clean one, images of any sizes (one compile per
  size)."""
  values = [metrics.psnr_ssim(np.asarray(a, np.float32)[None], b[None].astype(np.float32) / 255.0,
                              conv) for a, b in zip(images, clean_u8)]
  return [(float(p[0]), float(s[0])) for p, s in values]


def score(images, clean_u8, conv: metrics.Convention) -> tuple[float, float]:
  """Mean PSNR and SSIM over images of any sizes."""
  each = score_each(images, clean_u8, conv)
  return float(np.mean([p for p, _ in each])), float(np.mean([s for _, s in each]))
