"""The task: what a run is, built once from its config (after defaults and older configs are
merged, configs/default.py) and taken by every door: training, evaluation, restore, export, the
API, the benchmark and the studies.

Nothing here knows about model families: the model is `MODELS[config.model](**config.model_kwargs)`
and its geometry (the input it gets, the output it gives) is asked of the degradation and of the
model itself with `jax.eval_shape`. `aedenoise/validation.py` checks a config and returns its task
before a run writes anything.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from aedenoise import degradations, losses, policy
from aedenoise import input_pipeline
from aedenoise.errors import UserError
from aedenoise.models import MODELS, contract, geometry

DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


def model_kwargs(config) -> dict:
  kwargs = config.model_kwargs or {}
  return kwargs.to_dict() if hasattr(kwargs, 'to_dict') else dict(kwargs)


def model_arguments(name: str) -> list[str]:
  """The keyword arguments `MODELS[name]` accepts (its module's fields)."""
  constructor = MODELS[name]
  cls = getattr(constructor, 'func', constructor)
  return [f.name for f in dataclasses.fields(cls) if f.name not in ('parent', 'name')]


def _create_model(config):
  """`MODELS[config.model](**config.model_kwargs)`; UserError for an unknown name or argument."""
  if config.model not in MODELS:
    raise UserError(f'unknown model {config.model!r}; known: {", ".join(MODELS)}')
  kwargs = model_kwargs(config)
  unknown = sorted(set(kwargs) - set(model_arguments(config.model)))
  if unknown:
    raise UserError(f'model_kwargs: {config.model} has no argument {", ".join(map(repr, unknown))}'
                    f'; it takes {", ".join(model_arguments(config.model))}')
  return MODELS[config.model](**kwargs)


def model_label(config) -> str:
  """The model's name in tables and logs: its registry name, with its keyword arguments if any
  ('mnist_dae(depth=5,latent=8)')."""
  kwargs = model_kwargs(config)
  if not kwargs:
    return config.model
  return f'{config.model}({",".join(f"{k}={v}" for k, v in sorted(kwargs.items()))})'


def _target_shape(config, batch: int = 1) -> tuple[int, ...]:
  return (batch, *config.data.image_size, config.data.channels)


def _input_shape(config, batch: int = 1) -> tuple[int, ...]:
  """The model's input: the degradation's output for synthetic degradations (smaller for
  super-resolution), the target's shape for pairs read from disk."""
  shape = _target_shape(config, batch)
  if input_pipeline.is_paired(config.data.train):
    return shape
  degrade = degradations.build(degradations.resolve(config.degradation))
  return jax.eval_shape(degrade, jax.random.key(0), jax.ShapeDtypeStruct(shape, jnp.float32)).shape


def check_pairs(label: str, scale: int, inputs_shape, targets_shape, where: str) -> None:
  """UserError when the degraded images of pairs read from disk are not their clean partners'
  size divided by the model's `scale`: the model's outputs could not be compared with them."""
  (ih, iw), (th, tw) = inputs_shape[-3:-1], targets_shape[-3:-1]
  if (ih * scale, iw * scale) == (th, tw):
    return
  ratio = (f'{th // ih}x smaller than' if th % ih == 0 and th > ih else
           f'{ih / th:g} times the size of')
  does = 'restores at the same size' if scale == 1 else f'enlarges {scale}x'
  raise UserError(f'{where}: the degraded image of each pair is {ratio} its clean partner ({iw}x{ih} '
                  f'for {tw}x{th} crops), but model {label} {does}; use pairs '
                  f'whose sizes differ by the model\'s factor')


def _compute_dtype(config):
  name = config.dtype
  if name not in DTYPES:
    raise UserError(f"dtype must be one of {', '.join(DTYPES)}, got {name!r}")
  return DTYPES[name]


def _objective(config, model) -> losses.Objective:
  try:
    return losses.Objective.parse(config.loss, model.output_activation)
  except losses.LossError as e:
    raise UserError(str(e)) from None


@dataclasses.dataclass(frozen=True, eq=False)
class Task:
  """What a run is. Built by `task(config)`; its parts are never re-derived elsewhere.

  `degradation` is the training's resolved spec (a dict), `eval_degradation` what evaluation
  applies to clean images; `conv_impl` the convolution implementation every jit of the model is
  traced with (`jit`, `traced`), and `inference_conv_impl` that of restoring images (`jit(fn,
  inference=True)`: no gradients); `objective` the loss; `dtype` the compute type."""
  config: object
  model: object
  label: str
  degradation: object
  eval_degradation: object
  conv_impl: str
  inference_conv_impl: str
  objective: losses.Objective
  dtype: object

  @property
  def channels(self) -> int:
    return int(self.config.data.channels)

  def target_shape(self, batch: int = 1) -> tuple[int, ...]:
    return _target_shape(self.config, batch)

  def input_shape(self, batch: int = 1) -> tuple[int, ...]:
    return (batch, *self._one_input_shape[1:])

  @functools.cached_property
  def _one_input_shape(self) -> tuple[int, ...]:
    return _input_shape(self.config)

  def init_variables(self) -> dict:
    """The model's variables from `config.seed`, for the configured input shape."""
    return contract.init(self.model, jnp.zeros(self.input_shape(), jnp.float32), self.config.seed)

  @functools.cached_property
  def abstract_variables(self) -> dict:
    """The variables' shapes and dtypes (traced, nothing computed)."""
    return jax.eval_shape(self.traced(self.init_variables))

  def traced(self, fn):
    """`fn`, traced (by jit, eval_shape, ...) with this task's convolutions."""
    return policy.traced_with_conv_impl(fn, self.conv_impl)

  def jit(self, fn, inference: bool = False, **jit_kwargs):
    """`jax.jit` of `fn`, which applies this task's model, with its convolutions (those of
    inference where `fn` restores images and takes no gradient)."""
    return policy.jit(fn, self.inference_conv_impl if inference else self.conv_impl,
                      **jit_kwargs)

  def predict(self, variables, x):
    """The restored images for inputs `x` (inference: no dropout, state read, not updated)."""
    return contract.predict(self.model, variables, x)

  @functools.cached_property
  def geometry(self) -> geometry.Geometry:
    """What inputs the model takes and how it scales them (traced only)."""
    return geometry.probe(self.traced(self.predict), self.abstract_variables, self.input_shape())

  @property
  def scale(self) -> int:
    """How many times the model enlarges its input (1 for a denoiser)."""
    return self.geometry.scale

  def checked_geometry(self, tile: int = 0, overlap: int = -1) -> geometry.Geometry:
    """The geometry, after checking `--tile` and `--tile_overlap` against it; UserError with one
    line per problem."""
    takes = functools.partial(geometry.takes, self.traced(self.predict), self.abstract_variables,
                              self.geometry.channels, self.geometry.scale)
    problems = geometry.check_tiles(self.geometry, tile, overlap, takes,
                                    min(self.input_shape()[1:3]))
    if problems:
      raise UserError('\n'.join(problems))
    return self.geometry


def _spec(spec_or_name) -> dict:
  """A degradation preset or spec as a plain dict (a config holds specs as ConfigDicts)."""
  spec = degradations.resolve(spec_or_name)
  if hasattr(spec, 'to_dict'):
    return spec.to_dict()
  return dict(spec) if isinstance(spec, Mapping) else spec  # else refused when built


def task(config) -> Task:
  """The task `config` describes; UserError for an unknown model, argument, loss, dtype or
  convolution implementation (aedenoise/validation.py checks the rest)."""
  model = _create_model(config)
  return Task(config=config, model=model, label=model_label(config),
              degradation=_spec(config.degradation),
              eval_degradation=_spec(config.eval.degradation or config.degradation),
              conv_impl=policy.conv_impl(config.conv_impl),
              inference_conv_impl=policy.inference_conv_impl(config.conv_impl),
              objective=_objective(config, model), dtype=_compute_dtype(config))
