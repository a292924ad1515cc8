"""Overlapping tiles for images of any size, blended back with a window.

A model either takes one input size only (the VAE: Dense layers fix it at 32x32), or is fully
convolutional with sizes restricted to multiples of its total stride (the dual autoencoders, the
CIFAR-10 study's models), and may scale its output (super-resolution). `probe_geometry` finds out
which, by tracing the model on a few shapes (no computation); `smallest_side` finds the smallest
input of a fully convolutional one. `plan` cuts an image, mirrored outwards at its borders by the
overlap and up to at least one tile, into tiles of one fixed shape, so the device compiles once per tile shape however many image sizes
it sees; `Blender` adds the restored tiles back with a separable window that ramps from near 0 at a
tile's edge to 1 over the overlap, normalised by the summed weights: seams vanish, and a pixel
covered by one tile only keeps that tile's value exactly.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

DEFAULT_TILE = 256      # fully convolutional models: tile side, in input pixels
DEFAULT_OVERLAP = 32
_MULTIPLES = (1, 2, 4, 8, 16, 32, 64)


@dataclasses.dataclass(frozen=True)
class Geometry:
  """What inputs a model takes: `fixed` (H, W) only, or multiples of `multiple`; output = scale x."""
  channels: int
  scale: int = 1
  fixed: tuple[int, int] | None = None
  multiple: int = 1

  def tile(self, tile: int = 0, overlap: int = -1) -> tuple[tuple[int, int], int]:
    """((tile H, tile W), overlap) from the flags (0 / -1: defaults from the geometry); a side
    is rounded up to a multiple of `multiple`. `check_tiles` says first whether they work."""
    if self.fixed is not None:
      shape = self.fixed
      default_overlap = min(self.fixed) // 4
    else:
      side = _round_up(tile or DEFAULT_TILE, self.multiple)
      shape = (side, side)
      default_overlap = min(DEFAULT_OVERLAP, side // 4)
    overlap = default_overlap if overlap < 0 else overlap
    return shape, max(0, min(overlap, min(shape) - 1))


def check_tiles(geometry: Geometry, tile: int, overlap: int, takes: Callable[[int], bool],
                largest: int) -> list[str]:
  """Problems with `--tile` and `--tile_overlap` for a model of `geometry`, one line each (none
  when they work). `takes(side)` says whether the model takes side x side inputs; `largest` is
  a side it surely takes (its configured input), the end of the search for the smallest."""
  problems = []
  if tile < 0:
    problems.append(f'--tile={tile}: must be 0 (the model\'s default) or a side in pixels')
  if overlap < -1:
    problems.append(f'--tile_overlap={overlap}: must be -1 (the default) or a number of pixels')
  if problems:
    return problems
  if geometry.fixed is not None:
    h, w = geometry.fixed
    if tile and (tile, tile) != (h, w):
      problems.append(f'--tile={tile}: the model takes {h}x{w} inputs only, so its tiles are '
                      f'{h}x{w}; leave --tile out' + (f' or set it to {h}' if h == w else ''))
  elif tile:
    side = _round_up(tile, geometry.multiple)
    if not takes(side):
      smallest = _smallest(takes, side, largest, geometry.multiple)
      hint = f'; the smallest it takes is {smallest}' if smallest else ''
      problems.append(f'--tile={tile}: the model cannot take {side}x{side} tiles{hint}')
  if problems or overlap < 0:
    return problems
  (th, tw), _ = geometry.tile(tile, -1)
  most = min(th, tw) - geometry.multiple
  if overlap > most:
    problems.append(f'--tile_overlap={overlap}: tiles of {th}x{tw} can share at most {most} '
                    f'pixels' + (f' (they start at multiples of {geometry.multiple})'
                                 if geometry.multiple > 1 else ''))
  return problems


def _smallest(takes: Callable[[int], bool], refused: int, largest: int, m: int) -> int | None:
  """The smallest side (a multiple of m) above `refused` that the model takes, by bisection up to
  `largest`; a model that takes a side takes the larger ones too."""
  lo, hi = refused // m, _round_up(max(refused, largest), m) // m
  if not takes(hi * m):
    return None
  while hi - lo > 1:
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if takes(mid * m) else (mid, hi)
  return hi * m


def _round_up(n: int, m: int) -> int:
  return -(-n // m) * m


def _output_shape(apply_fn, variables, shape) -> tuple[int, ...] | None:
  try:
    return jax.eval_shape(apply_fn, variables, jax.ShapeDtypeStruct(shape, jnp.float32)).shape
  except Exception:  # pylint: disable=broad-except
    return None  # a shape the model cannot take: that is what is being probed


def takes(apply_fn, variables, channels: int, scale: int, side: int) -> bool:
  """Whether `apply_fn(variables, x)` maps a side x side input to side * scale (traced only)."""
  out = _output_shape(apply_fn, variables, (1, side, side, channels))
  return out is not None and tuple(out[1:3]) == (side * scale, side * scale)


def probe_geometry(apply_fn, variables, input_shape: tuple[int, ...]) -> Geometry:
  """`apply_fn(variables, x[B,H,W,C])` traced on the configured input and on other sizes (nothing
  runs; `variables` may be ShapeDtypeStructs)."""
  _, h, w, c = input_shape
  out = _output_shape(apply_fn, variables, input_shape)
  if out is None:
    raise ValueError(f'the model cannot take its own input shape {input_shape}')
  scale = out[1] // h
  for m in _MULTIPLES:
    sizes = [(h + m, w + 2 * m), (2 * h + 3 * m, w + m)]
    if all(_output_shape(apply_fn, variables, (1, a, b, c)) == (1, a * scale, b * scale, out[3])
           for a, b in sizes):
      return Geometry(channels=c, scale=scale, multiple=m)
  return Geometry(channels=c, scale=scale, fixed=(h, w))


def smallest_side(apply_fn, variables, geometry: Geometry, input_shape: tuple[int, ...]) -> int:
  """The smallest side, a multiple of `geometry.multiple` and at most the configured input's, of a
  square input a fully convolutional model takes (unpadded convolutions need a few pixels), found by
  bisection (nothing runs)."""
  m, c, s = geometry.multiple, geometry.channels, geometry.scale
  ok = lambda k: (_output_shape(apply_fn, variables, (1, m * k, m * k, c)) or (0,) * 3)[:3] == (
      1, s * m * k, s * m * k)
  lo, hi = 1, max(1, min(input_shape[1:3]) // m)  # the configured input is taken
  while lo < hi:
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if ok(mid) else (mid + 1, hi)
  return m * lo


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
  return _round_up(overlap, multiple) if overlap > 0 else 0


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
  h, w = (max(t, _round_up(s + 2 * m, multiple)) for t, s in zip(tile, (h0, w0)))
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
