"""Checks of every plain config field: type, range, or the allowed values, before anything runs.

Each problem is one line naming the field, the value and what is allowed; `check_fields` raises
one UserError with all of them. Fields with structure of their own are checked where they are
built (the model and its geometry, the loss, the degradation, the augmentation, data sources).
"""
from __future__ import annotations

import math
from typing import Any, Callable

from aedenoise.errors import UserError

SPLITS = ('all', 'train', 'val', 'test')
RESIZE_METHODS = ('nearest', 'bilinear', 'bicubic', 'lanczos', 'box')


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


def image_size(v) -> str | None:
  ok = (isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_int(x) and x > 0 for x in v))
  return None if ok else '(height, width): two positive integers'


def micro_batch_size(v) -> str | None:
  ok = v == 'auto' or (_is_int(v) and v >= 0) or (isinstance(v, str) and v.isdigit())
  return None if ok else "'auto' or a number of images of at least 0"


SEED = integer(0, 2**31 - 1)
FIELDS: dict[str, Callable[[Any], str | None]] = {
    'optimizer': one_of('adam', 'sgd'),
    'learning_rate': number(0, open_low=True),
    'momentum': number(0, 1, open_high=True),
    'lr_schedule': one_of('constant', 'cosine'),
    'warmup_steps': integer(0),
    'grad_clip_norm': number(0),
    'ema_decay': number(0, 1, open_high=True),
    'dtype': one_of('float32', 'bfloat16'),
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
    'data.fit': one_of('crop', 'resize'),
    'data.resize_method': one_of(*RESIZE_METHODS),
    'data.train_split': one_of(*SPLITS),
    'data.eval_split': one_of(*SPLITS),
    'data.split_seed': SEED,
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
  border = config.eval.get('crop_border', 0)
  if 2 * border >= min(data.image_size):
    out.append(f'eval.crop_border = {border}: must leave pixels of the {tuple(data.image_size)} '
               f'images (at most {(min(data.image_size) - 1) // 2})')
  for role in ('train', 'eval'):
    spec, split = data[role], data[f'{role}_split']
    if spec.startswith('builtin:') and split != 'all':
      out.append(f'data.{role}_split = {split!r}: the built-in source {spec} has no splits; use '
                 f"'all'")
  return out
