"""What a training method provides to the train step (aedenoise/training/step.py)."""
from __future__ import annotations

import dataclasses
from typing import Callable

import jax

# apply(params, x) -> (outputs before the activation, the model's updated state, sown loss terms)
Apply = Callable[[object, jax.Array], tuple[jax.Array, dict, dict]]


@dataclasses.dataclass(frozen=True)
class Method:
  """`target(key, clean, degrade)`: the training target of a batch whose clean images (or, for a
  source of noisy images, the images themselves) are `clean`; `degrade(key, images)` is the
  config's degradation. `loss(apply, params, inputs, target, key, objective)`: (loss, (outputs,
  reference, model state, terms)) for `jax.value_and_grad`, where `objective` is the config's loss
  (aedenoise/losses.py) and the training metrics score `outputs` (after the activation) against
  `reference`."""
  target: Callable
  loss: Callable


def supervised_loss(apply: Apply, params, inputs, target, key, objective):
  """The model applied once to the inputs, the config's loss against the target."""
  del key
  outputs, model_state, sown = apply(params, inputs)
  loss, terms = objective(outputs, target, sown)
  return loss, (outputs, target, model_state, terms)
