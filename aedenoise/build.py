"""What a run builds from its config: the model, its geometry, the loss and the compute type.

Nothing here knows about model families: the model is `MODELS[config.model](**config.model_kwargs)`
and its geometry (the input it gets, the output it gives) is asked of the degradation and of the
model itself with `jax.eval_shape`. `aedenoise/validation.py` checks all of it before a run writes
anything.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from aedenoise import degradations, losses
from aedenoise import input_pipeline
from aedenoise.errors import UserError
from aedenoise.models import MODELS, contract

DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


def model_kwargs(config) -> dict:
  kwargs = config.model_kwargs or {}
  return kwargs.to_dict() if hasattr(kwargs, 'to_dict') else dict(kwargs)


def model_arguments(name: str) -> list[str]:
  """The keyword arguments `MODELS[name]` accepts (its module's fields)."""
  constructor = MODELS[name]
  cls = getattr(constructor, 'func', constructor)
  return [f.name for f in dataclasses.fields(cls) if f.name not in ('parent', 'name')]


def create_model(config):
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


def init_variables(config, model) -> dict:
  """The model's variables from `config.seed`, for the configured input shape."""
  return contract.init(model, jnp.zeros(input_shape(config), jnp.float32), config.seed)


def target_shape(config, batch: int = 1) -> tuple[int, ...]:
  return (batch, *config.data.image_size, config.data.channels)


def input_shape(config, batch: int = 1) -> tuple[int, ...]:
  """The model's input: the degradation's output for synthetic degradations (smaller for
  super-resolution), the target's shape for pairs read from disk."""
  shape = target_shape(config, batch)
  if input_pipeline.is_paired(config.data.train):
    return shape
  degrade = degradations.build(degradations.resolve(config.degradation))
  return jax.eval_shape(degrade, jax.random.key(0), jax.ShapeDtypeStruct(shape, jnp.float32)).shape


def eval_degradation(config):
  """The degradation evaluation applies to clean images: `config.eval.degradation`, or the
  training's when that is empty."""
  spec = config.eval.degradation or config.degradation
  return degradations.resolve(spec)


def model_scale(config, model) -> int:
  """How many times the model enlarges its input (1 for a denoiser), traced, not computed."""
  x = jax.ShapeDtypeStruct(input_shape(config), jnp.float32)
  out = jax.eval_shape(lambda x: contract.predict(model, contract.init(model, x, 0), x), x)
  return out.shape[1] // x.shape[1]


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


def compute_dtype(config):
  name = config.dtype
  if name not in DTYPES:
    raise UserError(f"dtype must be one of {', '.join(DTYPES)}, got {name!r}")
  return DTYPES[name]


def objective(config, model) -> losses.Objective:
  try:
    return losses.Objective.parse(config.loss, model.output_activation)
  except losses.LossError as e:
    raise UserError(str(e)) from None
