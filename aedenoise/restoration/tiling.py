"""Overlapping tiles for images of any size, blended back with a window.

The tiles' shape comes from the model's geometry (aedenoise/models/geometry.py). `plan` cuts an
image, mirrored outwards at its borders by the overlap and up to at least one tile, into tiles of
one fixed shape, so the device compiles once per tile shape however many image sizes it sees;
`Blender` adds the restored tiles back with a separable window that ramps from near 0 at a tile's
edge to 1 over the overlap, normalised by the summed weights: seams vanish, and a pixel covered
by one tile only keeps that tile's value exactly.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from aedenoise.models.geometry import round_up


def starts(length: int, tile: int, overlap: int, multiple: int = 1) -> list[int]:
  """Tile offsets covering [0, length) with at least `overlap` shared pixels; the last flush.
  With `length - tile` a multiple of `multiple`, every offset is one."""
  if length <= tile:
    return [0]
  stride = max(multiple, (tile - overlap) // multiple * multiple)
  return sorted(set(list(range(0, length - tile, stride)) + [length - tile]))


def window(tile: int, overlap: int) -> np.ndarray:
  """1-D weights: a Hann ramp sin^2(pi/2 (i + 0.5) / overlap) at both ends, 1 in between. It is
  near 0 at a tile's edge, where a model padded at the tile's border errs most, and positive."""
  i = np.arange(tile, dtype=np.float32)
  if overlap <= 0:
    return np.ones(tile, np.float32)
  ramp = np.clip(np.minimum(i + 0.5, tile - i - 0.5) / overlap, 0.0, 1.0)
  return np.maximum(np.sin(np.pi / 2 * ramp) ** 2, 1e-6)


def reflected(n, before: int, after: int, xp=np):
  """Indices into 0..n-1 of the sequence extended by `before` and `after` reflected positions
  ('reflect': the edge pixel is not repeated), for any extension (the reflection repeats
  periodically, as np.pad's does); `n` may be a symbolic dimension with `xp` = jax.numpy. The
  one border rule of every door: restore's tiles and exported models (export.py)."""
  i = xp.arange(n + before + after) - before
  period = 2 * (n - 1)
  i = xp.abs(i) % period
  return xp.where(i >= n, period - i, i)


def mirror(image: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
  """(H, W, C) extended by mirroring at its borders (`reflected`; a 1-pixel side, with nothing
  to mirror, repeats its pixel)."""
  if not (top or bottom or left or right):
    return image
  h, w = image.shape[:2]
  rows = reflected(h, top, bottom) if h > 1 else np.zeros(h + top + bottom, int)
  cols = reflected(w, left, right) if w > 1 else np.zeros(w + left + right, int)
  return image[rows][:, cols]


def margin(overlap: int, multiple: int) -> int:
  """How far an image is mirrored outwards on every side before a model sees it: the overlap,
  rounded up to the model's multiple (so the padded image stays one)."""
  return round_up(overlap, multiple) if overlap > 0 else 0


@dataclasses.dataclass
class Plan:
  """Where the tiles of one (padded) image lie, and how to put them back."""
  image_shape: tuple[int, int]   # the original (H, W)
  padded: np.ndarray             # the image mirrored outwards by `margin`, and up to one tile
  offsets: list[tuple[int, int]]
  tile: tuple[int, int]
  margin: int = 0                # where the image starts in `padded`, on both axes

  def tile_at(self, index: int) -> np.ndarray:
    (y, x), (th, tw) = self.offsets[index], self.tile
    return self.padded[y:y + th, x:x + tw]

  def tiles(self) -> np.ndarray:
    return np.stack([self.tile_at(i) for i in range(len(self.offsets))])


def plan(image: np.ndarray, tile: tuple[int, int], overlap: int, multiple: int = 1) -> Plan:
  """Tiles of `image` (H, W, C). The image is mirrored outwards by the overlap (rounded up to a
  multiple of `multiple`) on every side, so that its outermost pixels lie inside tiles with
  content around them as its inner ones do, rather than at a tile's edge where a model sees its
  own zero padding; then up to at least one tile and a multiple of `multiple` (a strided model's
  output is shift-equivariant only for such shifts, so offsets are multiples of it)."""
  m = margin(overlap, multiple)
  h0, w0 = image.shape[:2]
  h, w = (max(t, round_up(s + 2 * m, multiple)) for t, s in zip(tile, (h0, w0)))
  padded = mirror(image, m, h - h0 - m, m, w - w0 - m)
  offsets = [(y, x) for y in starts(h, tile[0], overlap, multiple)
             for x in starts(w, tile[1], overlap, multiple)]
  return Plan(image.shape[:2], padded, offsets, tile, m)


class Blender:
  """Accumulates restored tiles of one image (output scale `scale`) and returns the blend. The
  tiles form a grid (every row offset with every column offset) and the window is separable, so
  the summed weights are the outer product of two 1-D sums: no second image-sized buffer."""

  def __init__(self, p: Plan, overlap: int, scale: int, channels: int):
    h, w = p.padded.shape[:2]
    self.plan, self.scale = p, scale
    self.sum = np.zeros((h * scale, w * scale, channels), np.float32)
    th, tw = p.tile
    wy, wx = window(th * scale, overlap * scale), window(tw * scale, overlap * scale)
    self.w2d = np.outer(wy, wx)[..., None]
    self.rows, self.cols = np.zeros(h * scale, np.float32), np.zeros(w * scale, np.float32)
    for y in sorted({y for y, _ in p.offsets}):
      self.rows[y * scale:(y + th) * scale] += wy
    for x in sorted({x for _, x in p.offsets}):
      self.cols[x * scale:(x + tw) * scale] += wx

  def add(self, index: int, restored: np.ndarray) -> None:
    y, x = (o * self.scale for o in self.plan.offsets[index])
    th, tw = restored.shape[:2]
    self.sum[y:y + th, x:x + tw] += restored * self.w2d

  def result(self) -> np.ndarray:
    h, w = (s * self.scale for s in self.plan.image_shape)
    m = self.plan.margin * self.scale
    out = self.sum[m:m + h, m:m + w]
    out /= np.maximum(np.outer(self.rows[m:m + h], self.cols[m:m + w]), 1e-12)[..., None]
    return out
