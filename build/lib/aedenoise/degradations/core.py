"""Degradation specs: how configs name a degradation, sample its parameters and compose them.

A spec is a plain mapping (a dict or an `ml_collections.ConfigDict`):

    {'kind': 'gaussian', 'sigma': (0.05, 0.15), 'clip': True}

`kind` names a function in `REGISTRY`; every other entry is a keyword argument. A number is used as
is; a pair (lo, hi) is a range from which each image draws its own value uniformly. Strings and
booleans pick a variant (method='bicubic', clip=False) and, like parameters that set array shapes
(a blur's window `size`, a downsampling `factor`), must be fixed values. Two kinds compose others:

    {'kind': 'one_of', 'options': {'gaussian': {...}, 'poisson': {...}}, 'weights': {...}}
    {'kind': 'sequence', 'steps': {'blur': {...}, 'noise': {...}}}   # applied in order

`one_of` picks one option per image (uniformly unless `weights` are given); its option names are the
rows of the evaluation table. `build(spec)` returns `degrade(key, images[B,H,W,C]) -> images`, a pure
function that splits `key` into one key per image, so an image's degradation depends only on its
own key, never on the batch it sits in or on how that batch is sharded.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp

from aedenoise.degradations import blur, identity, noise, resize, tone
from aedenoise.errors import UserError

REGISTRY: dict[str, Callable[..., jax.Array]] = {
    # Noise (noise.py)
    'gaussian': noise.gaussian,
    'poisson': noise.poisson,
    'poisson_gaussian': noise.poisson_gaussian,
    'speckle': noise.speckle,
    'multiplicative': noise.multiplicative,
    'salt_pepper': noise.salt_pepper,
    'colour_pixels': noise.colour_pixels,
    # Brightness (tone.py)
    'darken': tone.darken,
    'brighten': tone.brighten,
    # Blur (blur.py)
    'gaussian_blur': blur.gaussian_blur,
    'motion_blur': blur.motion_blur,
    'random_motion_blur': blur.random_motion_blur,
    'defocus_blur': blur.defocus_blur,
    # Resolution (resize.py)
    'downsample': resize.downsample,
    # None (identity.py)
    'identity': identity.identity,
}
COMPOSITIONS = ('one_of', 'sequence')

Degrade = Callable[[jax.Array, jax.Array], jax.Array]


class DegradationError(UserError, ValueError):
  """A spec that cannot be built; the message names the offending entry."""


def _as_dict(spec) -> dict[str, Any]:
  if hasattr(spec, 'to_dict'):
    spec = spec.to_dict()
  if not isinstance(spec, Mapping):
    raise DegradationError(f'a degradation spec must be a mapping with a "kind", got {spec!r}')
  return dict(spec)


def _is_range(value) -> bool:
  return isinstance(value, (tuple, list)) and len(value) == 2


def _check_value(fn, name, value) -> str | None:
  """One problem with one parameter value, or None."""
  choices = getattr(fn, 'choices', {})
  if name in choices:
    return None if value in choices[name] else (
        f'{name} must be one of {", ".join(map(str, choices[name]))}; got {value!r}')
  if isinstance(value, bool) or value is None:
    return None
  if _is_range(value):
    if name in getattr(fn, 'static_params', ()):
      return f'{name} sets a shape or a code path, so it must be a fixed value, not a range {value!r}'
    lo, hi = value
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)) or lo > hi:
      return f'{name} range must be (low, high) numbers, got {value!r}'
    if not all(math.isfinite(v) for v in (lo, hi)):
      return f'{name} range must be finite, got {value!r}'
    return None
  if not isinstance(value, (int, float)):
    return f'{name} must be a number or a (low, high) pair, got {value!r}'
  if not math.isfinite(value):
    return f'{name} must be finite, got {value!r}'
  return None


def _check_params(kind: str, fn, params: Mapping[str, Any]):
  """Raises one DegradationError listing every problem, one line each."""
  sig = inspect.signature(fn)
  accepted = [n for n, p in sig.parameters.items() if p.kind == p.KEYWORD_ONLY]
  problems = []
  for name, value in params.items():
    if name not in accepted:
      problems.append(f'unknown parameter {name!r} (accepted: {", ".join(accepted)})')
    elif (problem := _check_value(fn, name, value)) is not None:
      problems.append(problem)
  missing = [n for n, p in sig.parameters.items()
             if p.kind == p.KEYWORD_ONLY and p.default is p.empty and n not in params]
  if missing:
    problems.append(f'missing parameter(s) {", ".join(missing)}')
  if not problems and getattr(fn, 'check', None) is not None:
    problems.extend(fn.check(params))
  if problems:
    raise DegradationError('\n'.join(f'{kind}: {p}' for p in problems))


def _sample_params(key, params: Mapping[str, Any]) -> dict[str, Any]:
  """Draws each (lo, hi) range uniformly; fixed values pass through."""
  out = {}
  keys = jax.random.split(key, max(len(params), 1))
  for k, (name, value) in zip(keys, sorted(params.items())):
    if _is_range(value):
      out[name] = jax.random.uniform(k, (), jnp.float32, value[0], value[1])
    else:
      out[name] = value
  return out


def build_single(spec) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """(key, image[H,W,C]) -> image, for one spec (compositions included)."""
  spec = _as_dict(spec)
  kind = spec.pop('kind', None)
  if kind == 'one_of':
    options = spec.pop('options', None)
    weights = spec.pop('weights', None)
    if spec:
      raise DegradationError(f'one_of: unknown entries {sorted(spec)}')
    if not options:
      raise DegradationError('one_of: needs a non-empty "options" mapping of name -> spec')
    names = list(_as_dict(options))
    fns = [build_single(_as_dict(options)[n]) for n in names]
    weights = _as_dict(weights) if weights is not None else {}
    unknown = set(weights) - set(names)
    if unknown:
      raise DegradationError(f'one_of: weights for unknown options {sorted(unknown)}')
    logits = jnp.log(jnp.asarray([float(weights.get(n, 1.0)) for n in names]))

    def one_of(key, x):
      shapes = {n: jax.eval_shape(f, key, x).shape for n, f in zip(names, fns)}
      if len(set(shapes.values())) > 1:
        raise DegradationError(f'one_of: options must give images of one shape, got {shapes}')
      k_choice, k_apply = jax.random.split(key)
      index = jax.random.categorical(k_choice, logits)
      return jax.lax.switch(index, fns, k_apply, x)
    return one_of
  if kind == 'sequence':
    steps = spec.pop('steps', None)
    if spec or not steps:
      raise DegradationError('sequence: needs only a non-empty "steps" mapping of name -> spec')
    fns = [build_single(s) for s in _as_dict(steps).values()]

    def sequence(key, x):
      for k, fn in zip(jax.random.split(key, len(fns)), fns):
        x = fn(k, x)
      return x
    return sequence
  if kind not in REGISTRY:
    raise DegradationError(
        f'unknown degradation kind {kind!r}; known: {", ".join(sorted(REGISTRY) + list(COMPOSITIONS))}')
  fn = REGISTRY[kind]
  # A scalar given on the command line for a field that held a range arrives as a 1-tuple.
  spec = {k: v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v for k, v in spec.items()}
  _check_params(kind, fn, spec)

  def single(key, x):
    k_params, k_noise = jax.random.split(key)
    return fn(k_noise, x, **_sample_params(k_params, spec))
  return single


def build(spec) -> Degrade:
  """(key, images[B,H,W,C]) -> images: one key per image, split from `key`."""
  keyed = degrade_with_keys(spec)

  def degrade(key, images):
    return keyed(jax.random.split(key, images.shape[0]), images)
  return degrade


def degrade_with_keys(spec, image_by_image: bool = False
                      ) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """(keys[B], images[B,H,W,C]) -> images, for callers that fix each image's key (evaluation).

  image_by_image: one image after another (`lax.map`) instead of vectorised (`vmap`). Vectorised,
  the `lax.switch` of a one_of becomes a select that computes every option for every image; image
  by image, each image computes only its own option, which is faster on a CPU.
  """
  per_image = build_single(spec)
  if image_by_image:
    return lambda keys, images: jax.lax.map(lambda ki: per_image(*ki), (keys, images))
  return jax.vmap(per_image)


def components(spec) -> dict[str, dict[str, Any]]:
  """The named parts a degradation is evaluated on: the options of a top-level one_of, else itself."""
  spec = _as_dict(spec)
  if spec.get('kind') == 'one_of':
    return {name: _as_dict(s) for name, s in _as_dict(spec['options']).items()}
  return {spec.get('kind', 'degradation'): spec}
