"""The optimizer and its learning-rate schedule, from the config: registries whose keys are the
allowed values of `config.optimizer` and `config.lr_schedule`."""
from __future__ import annotations

from typing import Callable

import optax

# name -> (schedule, config) -> optax transformation
OPTIMIZERS: dict[str, Callable[[optax.Schedule, object], optax.GradientTransformation]] = {
    'adam': lambda lr, config: optax.adam(lr),
    'sgd': lambda lr, config: optax.sgd(lr, momentum=config.momentum, nesterov=True),
}
# name -> (peak learning rate, steps after warm-up) -> schedule
LR_SCHEDULES: dict[str, Callable[[float, int], optax.Schedule]] = {
    'constant': lambda lr, steps: optax.constant_schedule(lr),
    'cosine': lambda lr, steps: optax.cosine_decay_schedule(lr, max(steps, 1)),
}


def learning_rate_schedule(config) -> optax.Schedule:
  """`config.lr_schedule` from `config.learning_rate`, after a linear warm-up from 0 over
  `config.warmup_steps` when that is set."""
  lr, warmup = config.learning_rate, config.warmup_steps
  main = LR_SCHEDULES[config.lr_schedule](lr, config.num_train_steps - warmup)
  if warmup:
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), main], [warmup])
  return main


def create_optimizer(config) -> optax.GradientTransformation:
  """The optimizer, with gradient clipping always in the chain (at an infinite norm when off), so
  that turning clipping on or off does not change the saved optimizer state."""
  tx = OPTIMIZERS[config.optimizer](learning_rate_schedule(config), config)
  clip = float(config.grad_clip_norm) or float('inf')
  return optax.chain(optax.clip_by_global_norm(clip), tx)
