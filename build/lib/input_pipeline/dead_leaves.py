"""Procedural dead-leaves images: occluding disks with power-law radii.

The dead-leaves model (Lee, Mumford & Huang 2001) reproduces the scale invariance and occlusion
edges of natural images; denoisers trained on it transfer to photos (Achddou et al. 2021, Baradad et
al. 2021). Disk radii follow p(r) ~ r^-alpha; disk i lies on top of disk i+1, and enough disks are
drawn that on average 0.5% of the canvas is left to a background colour (as if one large disk lay
behind all others). Drawing is back to front with PIL at twice the resolution, then box-filtered
down for antialiased edges. Image i of a seed is always the same image, so the source behaves like a
fixed dataset.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw


def _expected_disk_area(alpha: float, r_min: float, r_max: float) -> float:
  """E[pi r^2] under p(r) ~ r^-alpha on [r_min, r_max]."""
  def integral(power):  # int r^power dr
    return math.log(r_max / r_min) if power == -1 else (r_max ** (power + 1) - r_min ** (power + 1)) / (power + 1)
  return math.pi * integral(2 - alpha) / integral(-alpha)


def render(rng: np.random.Generator, size: tuple[int, int], channels: int, *,
           alpha: float = 3.0, r_min: float = 1.5, r_max_frac: float = 0.5,
           uncovered: float = 0.005) -> np.ndarray:
  """One uint8 image of shape (H, W, channels)."""
  h, w = 2 * size[0], 2 * size[1]
  r_min, r_max = 2 * r_min, r_max_frac * max(h, w)
  n = int(math.ceil(h * w * math.log(1.0 / uncovered) / _expected_disk_area(alpha, r_min, r_max)))
  a = 1.0 - alpha  # inverse-CDF sampling of the power law
  radii = (r_min ** a + rng.random(n) * (r_max ** a - r_min ** a)) ** (1.0 / a)
  centres = rng.random((n, 2)) * (h, w)
  colours = rng.integers(0, 256, (n + 1, channels))
  mode = 'L' if channels == 1 else 'RGB'
  fill = (lambda c: int(c[0])) if channels == 1 else (lambda c: tuple(int(v) for v in c))
  canvas = Image.new(mode, (w, h), fill(colours[n]))
  draw = ImageDraw.Draw(canvas)
  for i in range(n - 1, -1, -1):  # back to front: disk 0 ends on top
    (y, x), r = centres[i], radii[i]
    draw.ellipse((x - r, y - r, x + r, y + r), fill=fill(colours[i]))
  out = np.asarray(canvas.reduce(2))
  return out.reshape(size[0], size[1], channels)


class DeadLeaves:
  """A random-access source of `length` dead-leaves images; image i depends only on (seed, i)."""

  def __init__(self, image_size, channels, *, seed: int = 0, length: int = 1_000_000):
    self.image_size = tuple(image_size)
    self.channels = channels
    self.seed = seed
    self.length = length
    self.name = 'dead_leaves'

  def __len__(self):
    return self.length

  def __getitem__(self, index: int) -> dict:
    rng = np.random.default_rng([self.seed, int(index), 0xDEAD1EAF])
    return {'target': render(rng, self.image_size, self.channels)}
