"""`validate(config)`: everything that would make a run fail, found before it writes anything.

First every plain field (type, range, or the allowed values, which come from the registries that
use them), each problem one line naming the field, the value and what is allowed; then the model
asked whether it can take the configured geometry, the loss, the degradation and the augmentation.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp

from aedenoise import augment, build, degradations, losses, methods, optim, policy
from aedenoise.errors import UserError, first_line
from aedenoise.input_pipeline import folders, preprocess, sources
from aedenoise.models import contract
from aedenoise.runtime import parallel


def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def integer(low: int, high: int | None = None) -> Callable[[Any], str | None]:
  def check(v):
    if not _is_int(v) or v < low or (high is not None and v > high):
      upper = f' and at most {high:,}' if high is not None else ''
      return f'an integer of at least {low}{upper}'
    return None
  return check


def number(low: float, high: float | None = None, *, open_low=False, open_high=False):
  def check(v):
    below = v <= low if open_low else v < low
    above = high is not None and (v >= high if open_high else v > high)
    if not _is_number(v) or below or above:
      lo = f'{"(" if open_low else "["}{low:g}'
      hi = f'{high:g}{")" if open_high else "]"}' if high is not None else 'inf)'
      return f'a finite number in {lo}, {hi}'
    return None
  return check


def one_of(*allowed) -> Callable[[Any], str | None]:
  return lambda v: None if v in allowed else f'one of {", ".join(map(repr, allowed))}'


def boolean(v) -> str | None:
  return None if isinstance(v, bool) else 'true or false'


def row_name(v) -> str | None:
  ok = isinstance(v, str) and v.strip() == v and v and ',' not in v
  return None if ok else 'a row name: non-empty, no commas or surrounding spaces (e.g. real)'


def image_size(v) -> str | None:
  ok = (isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(x) and x > 0 for x in v))
  return None if ok else '(height, width): two positive integers'


def micro_batch_size(v) -> str | None:
  ok = v == 'auto' or (_is_int(v) and v >= 0) or (isinstance(v, str) and v.isdigit())
  return None if ok else "'auto' or a number of images of at least 0"


SEED = integer(0, 2**31 - 1)
FIELDS: dict[str, Callable[[Any], str | None]] = {
    'conv_impl': one_of(*policy.CONV_IMPLS),
    'method': one_of(*methods.METHODS),
    'optimizer': one_of(*optim.OPTIMIZERS),
    'learning_rate': number(0, open_low=True),
    'momentum': number(0, 1, open_high=True),
    'lr_schedule': one_of(*optim.LR_SCHEDULES),
    'warmup_steps': integer(0),
    'grad_clip_norm': number(0),
    'ema_decay': number(0, 1, open_high=True),
    'dtype': one_of(*build.DTYPES),
    'batch_size': integer(1),
    'micro_batch_size': micro_batch_size,
    'num_train_steps': integer(1),
    'log_every_steps': integer(1),
    'checkpoint_every_steps': integer(1),
    'keep_checkpoints': integer(1),
    'max_nonfinite_steps': integer(0),
    'eval_every_steps': integer(0),
    'seed': SEED,
    'data.image_size': image_size,
    'data.channels': one_of(1, 3),
    'data.fit': one_of(*preprocess.FIT_MODES),
    'data.resize_method': one_of(*preprocess.RESAMPLING),
    'data.train_split': one_of(*folders.SPLITS),
    'data.eval_split': one_of(*folders.SPLITS),
    'data.split_seed': SEED,
    'data.stratify': boolean,
    'data.pairs_row': row_name,
    'data.test_fraction': number(0, 1, open_high=True),
    'data.val_fraction': number(0, 1, open_high=True),
    'data.num_eval': integer(0),
    'data.builtin_seed': SEED,
    'data.num_workers': integer(1),
    'data.prefetch': integer(1),
    'data.worker_processes': integer(0),
    'data.cache_mb': number(0),
    'data.patches_per_image': integer(1),
    'data.max_pixels': integer(0),
    'eval.seed': SEED,
    'eval.batch_size': integer(1),
    'eval.quantize': boolean,
    'eval.crop_border': integer(0),
    'eval.y_channel': boolean,
    'eval.grid_images': integer(0),
}


def _get(config, dotted: str):
  node = config
  for part in dotted.split('.'):
    if part not in node:
      return _MISSING
    node = node[part]
  return node


_MISSING = object()


def check_fields(config) -> None:
  """Raises one UserError with a line per field whose value is not allowed."""
  problems = []
  for name, check in FIELDS.items():
    value = _get(config, name)
    if value is _MISSING:
      continue
    wanted = check(value)
    if wanted:
      problems.append(f'{name} = {value!r}: must be {wanted}')
  if not problems:
    problems += _relations(config)
  if problems:
    raise UserError('\n'.join(problems))


def _relations(config) -> list[str]:
  """Problems that involve more than one field."""
  out = []
  data = config.data
  if data.test_fraction + data.val_fraction >= 1:
    out.append(f'data.test_fraction + data.val_fraction = '
               f'{data.test_fraction + data.val_fraction:g}: must be below 1 (no training images)')
  border = config.eval.crop_border
  if 2 * border >= min(data.image_size):
    out.append(f'eval.crop_border = {border}: must leave pixels of the {tuple(data.image_size)} '
               f'images (at most {(min(data.image_size) - 1) // 2})')
  for what, batch, size in (('batch_size', config.batch_size, data.image_size),
                            ('eval.batch_size', config.eval.batch_size,
                             data.eval_image_size or data.image_size)):
    needed = int(batch) * int(size[0]) * int(size[1]) * int(data.channels) * 4
    if needed > parallel.physical_memory() // 2:
      out.append(f'{what} = {batch} of {size[0]}x{size[1]} images: one batch of floats is '
                 f'{needed / 2**30:.1f} GiB, more than half this machine\'s memory; use smaller '
                 f'images or batches')
  for role in ('train', 'eval'):
    spec, split = data[role], data[f'{role}_split']
    if not sources.kind_of(spec).splittable and split != 'all':
      out.append(f'data.{role}_split = {split!r}: the source {spec} has no splits; use '
                 f"'all'")
  return out


def probe(task: build.Task) -> dict:
  """Shapes of one training call of the model on the configured geometry, without computing it:
  {'input', 'output', 'target', 'sown'}; UserError if the model cannot take its input."""
  config, model = task.config, task.model
  x = jax.ShapeDtypeStruct(task.input_shape(2), jnp.float32)

  def call(x):
    params, state = contract.split(contract.init(model, x, 0))
    keys = contract.rngs(jax.random.key(1))
    outputs, _, sown = contract.apply_train(model, params, state, x, keys)
    return outputs, sown
  try:
    out, sown = jax.eval_shape(task.traced(call), x)
  except Exception as e:  # pylint: disable=broad-except
    # Whatever the model raises while tracing (a shape it cannot take) is the answer here.
    raise UserError(f'model {task.label} cannot take '
                    f'{"x".join(map(str, x.shape[1:]))} inputs (data.image_size '
                    f'{tuple(config.data.image_size)} and the degradation): '
                    f'{first_line(e)}') from None
  return {'input': x.shape, 'output': out.shape, 'target': task.target_shape(2),
          'sown': set(losses.sown_terms(sown))}


def validate(config) -> build.Task:
  """The task `config` describes, after failing early, one line per problem, on config values
  that would fail later: every plain field, then the model asked whether it can take the
  configured geometry, the loss, the degradation and the augmentation."""
  check_fields(config)
  task = build.task(config)
  shapes = probe(task)
  if shapes['output'] != shapes['target']:
    size = lambda shape: 'x'.join(map(str, shape[1:]))
    raise UserError(f'model {task.label} turns {size(shapes["input"])} inputs into '
                    f'{size(shapes["output"])}, but the targets are {size(shapes["target"])}; '
                    f'check data.image_size, data.channels and the degradation')
  task.objective.check_model_terms(shapes['sown'])
  degradations.build(task.eval_degradation)
  augment.build(config.augment, config.data.image_size, int(config.data.channels))
  return task
