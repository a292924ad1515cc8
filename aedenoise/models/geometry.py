"""What inputs a model takes, found by tracing it (nothing runs): one input size only (the VAE:
Dense layers fix it at 32x32), or any multiple of its total stride (the dual autoencoders, the
CIFAR-10 study's models), and how many times it scales its output (super-resolution). `probe`
finds out which; `smallest_side` the smallest input of a fully convolutional one; `check_tiles`
whether the tiles `--tile` and `--tile_overlap` ask for fit. The task (aedenoise/build.py) holds
its model's geometry; restore, the API, export and the benchmark take it from there.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

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
      side = round_up(tile or DEFAULT_TILE, self.multiple)
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
    side = round_up(tile, geometry.multiple)
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
  lo, hi = refused // m, round_up(max(refused, largest), m) // m
  if not takes(hi * m):
    return None
  while hi - lo > 1:
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if takes(mid * m) else (mid, hi)
  return hi * m


def round_up(n: int, m: int) -> int:
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


def probe(apply_fn, variables, input_shape: tuple[int, ...]) -> Geometry:
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
