"""Noise models. Each maps (key, one image HxWxC in [0, 1], scalar parameters) -> image.

Parameters arrive already sampled (see `core.py`), so these are plain jnp functions: jit-, vmap-
and grad-able, with no host callbacks. `clip` is explicit because clipping changes the noise
statistics (a clipped Gaussian residual no longer has the stated mean and variance).
"""
import jax
import jax.numpy as jnp


def _maybe_clip(x, clip):
  return jnp.clip(x, 0.0, 1.0) if clip else x


def gaussian(key, x, *, sigma, mean=0.0, clip=True):
  """Additive white Gaussian noise: y = x + mean + sigma * n, n ~ N(0, 1) per element."""
  return _maybe_clip(x + mean + sigma * jax.random.normal(key, x.shape, x.dtype), clip)


def poisson(key, x, *, peak, clip=True):
  """Shot noise: y = Poisson(peak * x) / peak. Variance x / peak grows with the signal.

  scikit-image's `random_noise(mode='poisson')` is the case peak = 2**ceil(log2(#levels)), i.e.
  peak = 256 for 8-bit images.
  """
  return _maybe_clip(jax.random.poisson(key, peak * x, x.shape).astype(x.dtype) / peak, clip)


def speckle(key, x, *, var, mean=0.0, clip=True):
  """Multiplicative noise as scikit-image defines speckle: y = x + x * n, n ~ N(mean, var)."""
  n = mean + jnp.sqrt(var) * jax.random.normal(key, x.shape, x.dtype)
  return _maybe_clip(x + x * n, clip)


def salt_pepper(key, x, *, amount, salt_ratio=0.5):
  """Impulse noise: a fraction `amount` of pixels (all channels together) set to 1 or 0.

  Each pixel is hit independently with probability `amount`; a hit is salt (1) with probability
  `salt_ratio`, else pepper (0).
  """
  k_hit, k_salt = jax.random.split(key)
  shape = x.shape[:-1] + (1,)
  hit = jax.random.bernoulli(k_hit, amount, shape)
  salt = jax.random.bernoulli(k_salt, salt_ratio, shape)
  return jnp.where(hit, salt.astype(x.dtype), x)
