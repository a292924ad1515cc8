"""What a NumPy image's values mean, for every door that takes arrays (the Python API): its
dtype read as a range, turned into float32 in [0, 1] with a channel axis, and back.

uint8 is 0-255 and uint16 0-65535, as image files store them; other integer types (int32 and
int64 from NumPy arithmetic, int16, uint32) are read by the range their values use: 0-255 as
8-bit, up to 65535 as 16-bit. Floats must already lie in [0, 1]. Anything else (NaN or Inf,
negative or larger values, an empty image, a string or other non-array) is refused with one
line that names the image, instead of coming back as a constant or NaN image.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from aedenoise.errors import UserError


@dataclasses.dataclass(frozen=True)
class Kind:
  """How an input image was stored: enough to give a result back in the same form."""
  shape: tuple[int, ...]
  dtype: np.dtype
  peak: float  # the value that means white: 255, 65535 or 1.0


def _peak(image: np.ndarray, what: str) -> float:
  if image.dtype == np.uint8:
    return 255.0
  if image.dtype == np.uint16:
    return 65535.0
  if image.dtype == np.bool_:
    return 1.0
  if np.issubdtype(image.dtype, np.integer):
    lo, hi = int(image.min()), int(image.max())
    if lo < 0 or hi > 65535:
      raise UserError(f'{what}: {image.dtype} values span {lo}..{hi}; integer images hold '
                      f'0-255 or 0-65535')
    return 255.0 if hi <= 255 else 65535.0
  if np.issubdtype(image.dtype, np.floating):
    if not np.all(np.isfinite(image)):
      bad = int(np.size(image) - np.count_nonzero(np.isfinite(image)))
      raise UserError(f'{what}: {bad} pixel value(s) are NaN or infinite')
    lo, hi = float(image.min()), float(image.max())
    if lo < 0.0 or hi > 1.0:
      hint = ' (divide 0-255 values by 255)' if hi <= 255.0 and lo >= 0.0 else ''
      raise UserError(f'{what}: float values span {lo:g}..{hi:g}; float images lie in '
                      f'[0, 1]{hint}')
    return 1.0
  raise UserError(f'{what}: a {image.dtype} array is no image; use uint8, uint16, integers or '
                  f'floats in [0, 1]')


def to_float(image, what: str = 'the image') -> tuple[np.ndarray, Kind]:
  """(float32 H x W x C in [0, 1], how it was stored); UserError naming `what` otherwise."""
  if not isinstance(image, np.ndarray):
    if isinstance(image, (str, bytes)) or not hasattr(image, '__array__'):
      raise UserError(f'{what}: expected a NumPy image array, got {type(image).__name__}; read '
                      f'a file first, e.g. np.asarray(PIL.Image.open(path))')
    image = np.asarray(image)
  if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3)):
    raise UserError(f'{what}: an image is H x W or H x W x C with C 1 or 3, got shape '
                    f'{image.shape}')
  if image.shape[0] == 0 or image.shape[1] == 0:
    raise UserError(f'{what}: the image is empty (shape {image.shape})')
  peak = _peak(image, what)
  kind = Kind(tuple(image.shape), image.dtype, peak)
  floats = image.astype(np.float32) / np.float32(peak)
  return floats.reshape(image.shape[0], image.shape[1], -1), kind


def from_float(image: np.ndarray, kind: Kind, keep_shape: bool = True) -> np.ndarray:
  """A float image in [0, 1] (clipped) back in `kind`'s dtype and scale; with `keep_shape`, in
  its shape too (a 2-D input gives a 2-D result), else with its channel axis dropped only where
  the input had none."""
  image = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
  if len(kind.shape) == 2 and image.ndim == 3 and image.shape[-1] == 1:
    image = image[..., 0]
  if keep_shape:
    image = image.reshape(kind.shape)
  if np.issubdtype(kind.dtype, np.floating):
    return image.astype(kind.dtype, copy=False)
  if kind.dtype == np.bool_:
    return image >= 0.5
  return np.round(image * kind.peak).astype(kind.dtype)
