"""Blurs: a point-spread function built on the device from the image's parameters, then convolved.

Every kernel lives in a fixed `size` x `size` window (odd; a static parameter, so shapes do not depend
on the sampled strength), is non-negative and sums to 1; a kernel wider than its window is cut at the
window and renormalised. Kernel coordinates: u to the right, v upwards (row index decreasing);
angles are in degrees, counter-clockwise from the u axis, as seen on screen.

The blur is a true convolution y = x * k (the kernel flipped, as `scipy.ndimage.convolve` does) with
the image extended beyond its border by `boundary` (numpy `pad` modes; the default 'symmetric'
repeats the edge pixel, which is scipy.ndimage's 'reflect'). It runs as an FFT product on the padded
image: a 21 x 21 kernel costs the same as a 3 x 3 one, and much less than a direct depthwise
convolution with a different kernel per image.
"""
import math

import jax
import jax.numpy as jnp

from aedenoise.degradations.params import declare, non_negative, odd_window, upper

BOUNDARIES = ('symmetric', 'reflect', 'edge', 'wrap', 'constant')
DEFAULT_SIZE = 21
# Points per window width along a motion path; enough that a path splats as a continuous line.
_POINTS_PER_PIXEL = 4


def _grid(size):
  r = size // 2
  offsets = jnp.arange(-r, r + 1, dtype=jnp.float32)
  u = offsets[None, :]   # columns, to the right
  v = -offsets[:, None]  # rows, upwards
  return u, v


def _normalise(k):
  return k / jnp.maximum(jnp.sum(k), 1e-12)


def gaussian_kernel(sigma, sigma_y=None, angle=0.0, size=DEFAULT_SIZE):
  """exp(-a^2 / 2 sigma^2 - b^2 / 2 sigma_y^2) on axes (a, b) rotated by `angle`; sums to 1."""
  sigma_y = sigma if sigma_y is None else sigma_y
  u, v = _grid(size)
  t = jnp.deg2rad(angle)
  a = jnp.cos(t) * u + jnp.sin(t) * v
  b = -jnp.sin(t) * u + jnp.cos(t) * v
  # A zero sigma is a delta: the tiny floor keeps the exponent finite and the centre at 1.
  sx, sy = jnp.maximum(sigma, 1e-3), jnp.maximum(sigma_y, 1e-3)
  return _normalise(jnp.exp(-0.5 * ((a / sx) ** 2 + (b / sy) ** 2)))


def _splat(points, size):
  """Points [N, 2] (u, v), all of equal weight, spread onto the window with bilinear weights."""
  u, v = _grid(size)
  pu, pv = points[:, 0, None, None], points[:, 1, None, None]
  w = jnp.maximum(0.0, 1.0 - jnp.abs(u - pu)) * jnp.maximum(0.0, 1.0 - jnp.abs(v - pv))
  return _normalise(jnp.sum(w, axis=0))


def line_kernel(length, angle=0.0, size=DEFAULT_SIZE):
  """Uniform motion along a straight segment of `length` pixels through the centre."""
  n = _POINTS_PER_PIXEL * size
  s = (jnp.arange(n, dtype=jnp.float32) / (n - 1) - 0.5) * length
  t = jnp.deg2rad(angle)
  return _splat(jnp.stack([s * jnp.cos(t), s * jnp.sin(t)], axis=-1), size)


def trajectory_kernel(key, length, jitter=1.5, size=DEFAULT_SIZE):
  """Camera shake: a random path of total `length` pixels, travelled at constant speed.

  The heading starts uniform in [0, 360) degrees and drifts as a random walk whose total standard
  deviation over the path is `jitter` radians (0: a straight line). The path is centred on its
  mean point, so the blur does not shift the image.
  """
  n = _POINTS_PER_PIXEL * size
  k_start, k_turn = jax.random.split(key)
  start = jax.random.uniform(k_start, (), jnp.float32, 0.0, 2.0 * math.pi)
  turns = jax.random.normal(k_turn, (n - 1,)) * (jitter / math.sqrt(n - 1))
  heading = start + jnp.concatenate([jnp.zeros((1,)), jnp.cumsum(turns)])
  step = length / (n - 1)
  steps = jnp.stack([jnp.cos(heading), jnp.sin(heading)], axis=-1)[:-1] * step
  points = jnp.concatenate([jnp.zeros((1, 2)), jnp.cumsum(steps, axis=0)])
  return _splat(points - jnp.mean(points, axis=0), size)


def disk_kernel(radius, size=DEFAULT_SIZE):
  """Defocus: a uniform disk of `radius` pixels with a one-pixel linear edge (anti-aliased)."""
  u, v = _grid(size)
  return _normalise(jnp.clip(radius + 0.5 - jnp.sqrt(u * u + v * v), 0.0, 1.0))


def convolve(x, kernel, boundary='symmetric'):
  """y = x * kernel for one image [H, W, C] and a kernel [K, K] (K odd); output [H, W, C]."""
  h, w, _ = x.shape
  r = kernel.shape[0] // 2
  pad = ((r, r), (r, r), (0, 0))
  xp = jnp.pad(x, pad, mode=boundary)
  n0, n1 = h + 2 * r, w + 2 * r
  # Circular convolution of length n equals the linear one on outputs [2r, n): those are the
  # H x W pixels whose window lies inside the padded image.
  spectrum = jnp.fft.rfft2(xp, axes=(0, 1)) * jnp.fft.rfft2(kernel, s=(n0, n1))[..., None]
  y = jnp.fft.irfft2(spectrum, s=(n0, n1), axes=(0, 1))
  return y[2 * r:, 2 * r:].astype(x.dtype)


def _fits(p, scale, *names):
  """The window must be odd, and the kernel must fit in it: a clear error beats a cut kernel."""
  size = p.get('size', DEFAULT_SIZE)
  out = odd_window(size)
  window_ok = not out
  for name in names:
    value = p.get(name)
    if window_ok and isinstance(value, (int, float, tuple, list)) and not isinstance(value, bool):
      if upper(value) * scale > size // 2:
        out.append(f'{name} {value!r} does not fit the {size}x{size} window; raise size')
  return out


_CHOICES = {'boundary': BOUNDARIES}


@declare(static=('size',), choices=_CHOICES,
         check=lambda p: _fits(p, 3.0, 'sigma', 'sigma_y') + non_negative(p, 'sigma', 'sigma_y'))
def gaussian_blur(key, x, *, sigma, sigma_y=None, angle=0.0, size=DEFAULT_SIZE,
                  boundary='symmetric'):
  """Gaussian blur; anisotropic when sigma_y differs from sigma (axes rotated by `angle`).

  The window must hold 3 sigma each side; scipy's gaussian_filter(truncate=(size // 2) / sigma)
  is the same filter.
  """
  del key
  return convolve(x, gaussian_kernel(sigma, sigma_y, angle, size), boundary)


@declare(static=('size',), choices=_CHOICES,
         check=lambda p: _fits(p, 0.5, 'length') + non_negative(p, 'length'))
def motion_blur(key, x, *, length, angle=0.0, size=DEFAULT_SIZE, boundary='symmetric'):
  """Linear motion blur: uniform along a centred segment of `length` pixels at `angle`."""
  del key
  return convolve(x, line_kernel(length, angle, size), boundary)


@declare(static=('size',), choices=_CHOICES,
         check=lambda p: _fits(p, 0.5, 'length') + non_negative(p, 'length', 'jitter'))
def random_motion_blur(key, x, *, length, jitter=1.5, size=DEFAULT_SIZE, boundary='symmetric'):
  """Camera-shake blur along a random trajectory (see `trajectory_kernel`), new per image."""
  return convolve(x, trajectory_kernel(key, length, jitter, size), boundary)


@declare(static=('size',), choices=_CHOICES,
         check=lambda p: _fits(p, 1.0, 'radius') + non_negative(p, 'radius'))
def defocus_blur(key, x, *, radius, size=DEFAULT_SIZE, boundary='symmetric'):
  """Out-of-focus blur: convolution with a disk of `radius` pixels (see `disk_kernel`)."""
  del key
  return convolve(x, disk_kernel(radius, size), boundary)
