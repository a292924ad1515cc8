"""What a run is built from: the model, its geometry, the loss, the optimizer and the train state.

Everything here is read from the config and checked before a run writes anything (`validate`), so a
config that cannot work fails in one line. Nothing here knows about model families: the geometry
(the input a model gets, the output it gives) is asked of the degradation and of the model itself
with `jax.eval_shape`.
"""
from __future__ import annotations

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax
from flax.training import train_state

import input_pipeline
from aedenoise import augment, config_checks, degradations, losses
from aedenoise.errors import UserError
from aedenoise.models import MODELS

DTYPES = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


class TrainState(train_state.TrainState):
  """Flax's TrainState plus the model's other collections and an optional EMA of the parameters."""
  batch_stats: Any = flax.struct.field(default_factory=dict)
  ema_params: Any = None


def resolve_conv_impl(name: str) -> str:
  if name == 'auto':
    return 'matmul' if jax.default_backend() == 'cpu' else 'lax'
  if name not in ('matmul', 'lax'):
    raise UserError(f"conv_impl must be 'auto', 'matmul' or 'lax', got {name!r}")
  return name


def create_model(config):
  if config.model not in MODELS:
    raise UserError(f'unknown model {config.model!r}; known: {", ".join(MODELS)}')
  return MODELS[config.model](conv_impl=resolve_conv_impl(config.conv_impl))


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


def compute_dtype(config):
  name = config.get('dtype', 'float32')
  if name not in DTYPES:
    raise UserError(f"dtype must be one of {', '.join(DTYPES)}, got {name!r}")
  return DTYPES[name]


def objective(config, model) -> losses.Objective:
  try:
    return losses.Objective.parse(config.loss, model.output_activation)
  except losses.LossError as e:
    raise UserError(str(e)) from None


def learning_rate_schedule(config) -> optax.Schedule:
  lr, warmup, total = config.learning_rate, config.warmup_steps, config.num_train_steps
  if config.lr_schedule == 'constant':
    main = optax.constant_schedule(lr)
  elif config.lr_schedule == 'cosine':
    main = optax.cosine_decay_schedule(lr, max(total - warmup, 1))
  else:
    raise UserError(f"lr_schedule must be 'constant' or 'cosine', got {config.lr_schedule!r}")
  if warmup:
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), main], [warmup])
  return main


def create_optimizer(config) -> optax.GradientTransformation:
  """The optimizer, with gradient clipping always in the chain (at an infinite norm when off), so
  that turning clipping on or off does not change the saved optimizer state."""
  schedule = learning_rate_schedule(config)
  if config.optimizer == 'adam':
    tx = optax.adam(schedule)
  elif config.optimizer == 'sgd':
    tx = optax.sgd(schedule, momentum=config.momentum, nesterov=True)
  else:
    raise UserError(f"optimizer must be 'adam' or 'sgd', got {config.optimizer!r}")
  clip = float(config.grad_clip_norm) or float('inf')
  return optax.chain(optax.clip_by_global_norm(clip), tx)


def init_variables(config, model) -> dict:
  """The model's variables (its parameters and state collections, not the loss terms a model may
  sow while initialising), from `config.seed`."""
  x = jnp.zeros(input_shape(config), jnp.float32)
  variables = model.init(jax.random.key(config.seed), x, train=False)
  return {k: v for k, v in variables.items() if k != 'losses'}


def create_train_state(config, model, tx, sharding) -> TrainState:
  """Variables initialised from `config.seed`, created directly with `sharding`."""
  def init(_):
    variables = dict(init_variables(config, model))
    params = variables.pop('params')
    ema = params if float(config.get('ema_decay', 0.0)) else None
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx,
                             batch_stats=variables.get('batch_stats', {}), ema_params=ema)
  return jax.jit(init, out_shardings=sharding)(0)


def probe(config, model) -> dict:
  """Shapes of one training call of the model on the configured geometry, without computing it:
  {'input', 'output', 'target', 'sown'}; UserError if the model cannot take its input."""
  x = jax.ShapeDtypeStruct(input_shape(config, 2), jnp.float32)

  def call(x):
    variables = model.init(jax.random.key(0), x, train=False)
    variables = {k: v for k, v in variables.items() if k != 'losses'}
    rngs = {'dropout': jax.random.key(1), 'sample': jax.random.key(2)}
    return model.apply(variables, x, train=True, mutable=['batch_stats', 'losses'], rngs=rngs)
  try:
    out, updates = jax.eval_shape(call, x)
  except Exception as e:  # pylint: disable=broad-except
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    raise UserError(f'model {config.model} cannot take {"x".join(map(str, x.shape[1:]))} inputs '
                    f'(data.image_size {tuple(config.data.image_size)} and the degradation): '
                    f'{first[:200]}') from None
  return {'input': x.shape, 'output': out.shape, 'target': target_shape(config, 2),
          'sown': set(losses.sown_terms(updates.get('losses', {})))}


def validate(config) -> None:
  """Fails early, one line per problem, on config values that would fail later: every plain field
  (config_checks.py), then the model asked whether it can take the configured geometry, the loss,
  the degradation and the augmentation."""
  config_checks.check_fields(config)
  compute_dtype(config)
  model = create_model(config)
  shapes = probe(config, model)
  if shapes['output'] != shapes['target']:
    raise UserError(f'model {config.model} turns {"x".join(map(str, shapes["input"][1:]))} inputs '
                    f'into {"x".join(map(str, shapes["output"][1:]))}, but the targets are '
                    f'{"x".join(map(str, shapes["target"][1:]))}; check data.image_size, '
                    f'data.channels and the degradation')
  loss = objective(config, model)
  try:
    loss.check_model_terms(shapes['sown'])
  except losses.LossError as e:
    raise UserError(str(e)) from None
  augment.build(config.get('augment'), config.data.image_size, int(config.data.channels))
