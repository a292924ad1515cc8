"""The train state: Flax's TrainState plus the model's state collections and an EMA of its
parameters, created from the config."""
from __future__ import annotations

from typing import Any

import flax
import optax
from flax.training import train_state

from aedenoise.models import contract


class TrainState(train_state.TrainState):
  """`params` and `opt_state` as in Flax; `model_state`: the model's state collections by name
  (BatchNorm statistics; empty for most models); `ema_params`: an exponential moving average of
  the parameters (None unless `config.ema_decay`)."""
  model_state: Any = flax.struct.field(default_factory=dict)
  ema_params: Any = None

  def variables(self, ema: bool = True) -> dict:
    """What inference applies the model with: the EMA parameters where kept (and `ema`)."""
    use_ema = ema and self.ema_params is not None
    return contract.merge(self.ema_params if use_ema else self.params, self.model_state)

  def update_ema(self, decay: float) -> 'TrainState':
    """The EMA moved towards the current parameters by 1 - `decay` (optax's incremental update)."""
    if not decay:
      return self
    return self.replace(ema_params=optax.incremental_update(self.params, self.ema_params,
                                                            1.0 - decay))


def from_variables(config, model, tx: optax.GradientTransformation, variables: dict) -> TrainState:
  """A fresh train state (step 0, new optimizer state) holding `variables`."""
  params, model_state = contract.split(variables)
  ema = params if float(config.ema_decay) else None
  return TrainState.create(apply_fn=model.apply, params=params, tx=tx, model_state=model_state,
                           ema_params=ema)


def create_train_state(task, tx: optax.GradientTransformation, sharding) -> TrainState:
  """Variables initialised from `config.seed`, created directly with `sharding`."""
  return task.jit(lambda: from_variables(task.config, task.model, tx, task.init_variables()),
                  out_shardings=sharding)()
