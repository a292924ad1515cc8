"""Noise models. Each maps (key, one image HxWxC in [0, 1], scalar parameters) -> image.

Parameters arrive already sampled (see `core.py`), so these are plain jnp functions: jit-, vmap-
and grad-able, with no host callbacks. `clip` is explicit because clipping changes the noise
statistics (a clipped Gaussian residual no longer has the stated mean and variance).
"""
import jax
import jax.numpy as jnp

from aedenoise.degradations.params import declare, in_unit_interval, non_negative, positive
from aedenoise.degradations.sampling import poisson_counts


def _maybe_clip(x, clip):
  return jnp.clip(x, 0.0, 1.0) if clip else x


def _one_of_sigma_var(p):
  given = [n for n in ('sigma', 'var') if p.get(n) is not None]
  if len(given) != 1:
    yield 'give exactly one of sigma or var'
  yield from non_negative(p, 'sigma', 'var')


@declare(static=('per_channel',), check=_one_of_sigma_var)
def gaussian(key, x, *, sigma=None, var=None, mean=0.0, per_channel=True, clip=True):
  """Additive white Gaussian noise: y = x + mean + sigma * n, n ~ N(0, 1), sigma = sqrt(var).

  per_channel=True draws n per element: on colour images this is the image-quality study's "colourful" noise as
  its code makes it (N(0, 0.2^2) per pixel and channel). False draws one n per pixel, shared by
  the channels (grey noise on colour images).
  """
  std = sigma if sigma is not None else jnp.sqrt(var)
  shape = x.shape if per_channel else x.shape[:-1] + (1,)
  return _maybe_clip(x + mean + std * jax.random.normal(key, shape, x.dtype), clip)


@declare(check=lambda p: positive(p, 'peak'))
def poisson(key, x, *, peak, clip=True):
  """Shot noise: y = Poisson(peak * x) / peak. Variance x / peak grows with the signal.

  scikit-image's `random_noise(mode='poisson')` is the case peak = 2**ceil(log2(#levels)), i.e.
  peak = 256 for 8-bit images. Counts come from `sampling.poisson_counts` (fixed cost per pixel).
  """
  return _maybe_clip(poisson_counts(key, peak * x).astype(x.dtype) / peak, clip)


@declare(static=('discrete',), check=lambda p: non_negative(p, 'a', 'b'))
def poisson_gaussian(key, x, *, a, b, discrete=False, clip=True):
  """Signal-dependent noise with variance a * x + b (the noise level function of the real-noise (SIDD) study).

  discrete=False: y = x + sqrt(a x + b) n, n ~ N(0, 1) (the heteroscedastic Gaussian form of the
  SIDD paper). discrete=True: y = a * Poisson(x / a) + sqrt(b) n, the exact Poisson-Gaussian model
  (needs a > 0). Both have mean x and variance a x + b before clipping.
  """
  k_poisson, k_gauss = jax.random.split(key)
  n = jax.random.normal(k_gauss, x.shape, x.dtype)
  if discrete:
    a = jnp.maximum(a, 1e-12)
    counts = poisson_counts(k_poisson, x / a).astype(x.dtype)
    return _maybe_clip(a * counts + jnp.sqrt(b) * n, clip)
  return _maybe_clip(x + jnp.sqrt(jnp.maximum(a * x + b, 0.0)) * n, clip)


@declare(check=lambda p: non_negative(p, 'var'))
def speckle(key, x, *, var, mean=0.0, clip=True):
  """Multiplicative noise as scikit-image defines speckle: y = x + x * n, n ~ N(mean, var)."""
  n = mean + jnp.sqrt(var) * jax.random.normal(key, x.shape, x.dtype)
  return _maybe_clip(x + x * n, clip)


@declare(check=lambda p: non_negative(p, 'sigma'))
def multiplicative(key, x, *, sigma, mean=0.0, clip=True):
  """The CIFAR-10 study's Type-II noise: y = x + x * n = x (1 + n), n ~ N(mean, sigma^2) per element.

  The same model as `speckle`, parametrised by the standard deviation as the CIFAR-10 study's code is.
  """
  n = mean + sigma * jax.random.normal(key, x.shape, x.dtype)
  return _maybe_clip(x + x * n, clip)


def _hit_probability(amount, sites, picks):
  if not picks:
    return amount
  # `floor(amount * sites)` uniform picks with replacement miss a given site with probability
  # (1 - 1/sites)^picks; computed in log space so that large counts stay accurate.
  n = jnp.floor(amount * sites)
  return -jnp.expm1(n * jnp.log1p(-1.0 / sites))


@declare(static=('per_channel', 'picks'),
         check=lambda p: in_unit_interval(p, 'amount', 'salt_ratio'))
def salt_pepper(key, x, *, amount, salt_ratio=0.5, per_channel=False, picks=False):
  """Impulse (salt-and-pepper) noise: hit pixels become 1 (salt) or 0 (pepper).

  Each pixel, all channels together, is hit independently with probability `amount`; a hit is salt
  with probability `salt_ratio`. per_channel=True hits elements independently instead, as
  scikit-image's `random_noise(mode='s&p')` does. picks=True reads `amount` as the image-quality study's code does:
  floor(amount * H * W) pixels picked uniformly with replacement, so fewer distinct pixels are hit
  (e.g. 1 - e^-0.25 = 22% for amount 0.25).
  """
  k_hit, k_salt = jax.random.split(key)
  shape = x.shape if per_channel else x.shape[:-1] + (1,)
  sites = x.shape[0] * x.shape[1] * (x.shape[2] if per_channel else 1)
  hit = jax.random.bernoulli(k_hit, _hit_probability(amount, sites, picks), shape)
  salt = jax.random.bernoulli(k_salt, salt_ratio, shape)
  return jnp.where(hit, salt.astype(x.dtype), x)


@declare(static=('picks',), check=lambda p: in_unit_interval(p, 'amount'))
def colour_pixels(key, x, *, amount, picks=False):
  """Random-colour pixels (the image-quality study's text): a fraction `amount` of pixels get a random colour.

  Each pixel is hit independently with probability `amount` (see `salt_pepper` for `picks`); a
  hit pixel's channels are drawn independently from U(0, 1) (on grey images: a random grey, i.e.
  random-valued impulse noise).
  """
  k_hit, k_colour = jax.random.split(key)
  hw = x.shape[0] * x.shape[1]
  hit = jax.random.bernoulli(k_hit, _hit_probability(amount, hw, picks), x.shape[:-1] + (1,))
  colour = jax.random.uniform(k_colour, x.shape, x.dtype)
  return jnp.where(hit, colour, x)
