"""Downsampling for super-resolution (the image-quality study), optionally resized back to the original size.

Conventions (those of PIL, TensorFlow 2 and `jax.image.resize`): pixel centres at half-integers, so
nearest x2 keeps pixels (1, 3, 5, ...) of each row and column, and bilinear x2 without antialiasing
is the mean of each 2x2 block. antialias=True widens the interpolation kernel by the factor when
shrinking, as PIL's `Image.resize` does (and torchvision's on tensors since 0.17); bicubic is Keys'
cubic with a = -0.5, as in PIL; area (integer factors) is the mean of each factor x factor block,
as OpenCV's INTER_AREA and MATLAB's box reduction. The small image is floor(H / factor) x
floor(W / factor).
"""
import jax
import jax.numpy as jnp

from aedenoise.degradations.params import declare

UPSCALING = {'nearest': 'nearest', 'bilinear': 'linear', 'bicubic': 'cubic'}
METHODS = {**UPSCALING, 'area': 'area'}


def small_shape(shape, factor):
  h, w, c = shape
  return max(1, int(h // factor)), max(1, int(w // factor)), c


def _check(p):
  factor = p.get('factor')
  if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 1:
    yield f'factor must be a fixed number >= 1, got {factor!r}'
  elif p.get('method') == 'area' and factor != int(factor):
    yield f'method area needs an integer factor, got {factor!r}'
  if p.get('up_method') is not None and not p.get('resize_back', False):
    yield 'up_method is only used with resize_back=true'


@declare(static=('factor', 'antialias', 'resize_back'),
         choices={'method': tuple(METHODS), 'up_method': (None,) + tuple(UPSCALING)}, check=_check)
def downsample(key, x, *, factor, method='bilinear', antialias=True, resize_back=False,
               up_method=None, clip=True):
  """Shrink by `factor`; with resize_back, enlarge back to H x W by `up_method` (default `method`).

  resize_back keeps the image size, so any restoration model can train on it; the result is the
  interpolation baseline of a super-resolution table (the image-quality study's "nearest-neighbour
  interpolation" row is method='bilinear', up_method='nearest', factor 4). Cubic interpolation
  overshoots, hence `clip`.
  """
  del key
  h, w, c = small_shape(x.shape, factor)
  if method == 'area':
    f = int(factor)
    small = x[:h * f, :w * f].reshape(h, f, w, f, c).mean(axis=(1, 3))
  else:
    small = jax.image.resize(x, (h, w, c), METHODS[method], antialias=antialias)
  if resize_back:
    up = up_method or (method if method in UPSCALING else 'bilinear')
    small = jax.image.resize(small, x.shape, UPSCALING[up], antialias=antialias)
  return jnp.clip(small, 0.0, 1.0) if clip else small
