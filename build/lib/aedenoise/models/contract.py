"""The model contract: what every model family keeps, so that the trainer, the evaluator, the
checkpoints and the importer know nothing of families. Only this module and the model files that
declare them spell a collection or rng name.

* `model(x, train=False)` maps a degraded NHWC batch in [0, 1] to the pre-activation of its last
  layer, at the target's size (a super-resolution net gets a smaller input than its target);
  `model.output_activation` (a key of `ACTIVATIONS`) names the activation, so losses can use the
  stable form (BCE from logits) and predictions apply it.
* Variables: `PARAMS` are trained by gradients. Every other collection a model creates when it is
  initialised is its *state* (BatchNorm's running statistics), which `train=True` calls update
  (over the whole global batch) and inference reads. The trainer carries the state as one dict of
  collections, whatever their names.
* Randomness: `train=True` calls get one key per name in `RNGS` (`DROPOUT` for dropout, `SAMPLE`
  for a VAE's sampling), derived from the step's key; inference takes none (a VAE uses its mean).
* A model may add loss terms with `self.sow(LOSSES, name, per_image_values)` (the VAE's 'kl'),
  which a config's loss can name (aedenoise/losses.py); they are never stored.
* Constructor arguments are the config's `model_kwargs`; `hyperparameters(model)` lists them all.
"""
from __future__ import annotations

import dataclasses
import json

import jax

PARAMS = 'params'
LOSSES = 'losses'
DROPOUT, SAMPLE = 'dropout', 'sample'
RNGS = (DROPOUT, SAMPLE)
# Separates the model's rngs from other users of a step's key (the degradation's, augmentation's).
_RNG_SALT = 0x30DE1

ACTIVATIONS = {
    'sigmoid': jax.nn.sigmoid,
    'linear': lambda z: z,
}


def init(model, x, seed: int) -> dict:
  """The model's variables for inputs shaped like `x`: `PARAMS` and its state collections (not
  the loss terms it may sow while initialising)."""
  variables = model.init(jax.random.key(seed), x, train=False)
  return {k: v for k, v in variables.items() if k != LOSSES}


def split(variables: dict) -> tuple[dict, dict]:
  """(params, state): the trained parameters, and every other collection by name."""
  return variables[PARAMS], {k: v for k, v in variables.items() if k != PARAMS}


def merge(params, state: dict) -> dict:
  """The variables `model.apply` takes, from parameters and state collections."""
  return {PARAMS: params, **state}


def rngs(key: jax.Array) -> dict[str, jax.Array]:
  """One key per rng name a training call may draw from, derived from the step's `key`."""
  return dict(zip(RNGS, jax.random.split(jax.random.fold_in(key, _RNG_SALT), len(RNGS))))


def fold_rngs(keys: dict[str, jax.Array], data) -> dict[str, jax.Array]:
  """Each rng key folded with `data` (a micro-batch's or a device's index)."""
  return {name: jax.random.fold_in(key, data) for name, key in keys.items()}


def apply_train(model, params, state: dict, x, keys: dict[str, jax.Array]):
  """A training call: (outputs, updated state, sown loss terms)."""
  outputs, updates = model.apply(merge(params, state), x, train=True, rngs=keys,
                                 mutable=[*state, LOSSES])
  new_state = {k: updates[k] for k in state}
  return outputs, new_state, updates.get(LOSSES, {})


def apply_inference(model, variables: dict, x):
  """An inference call: (outputs, sown loss terms); state is read, never updated."""
  outputs, updates = model.apply(variables, x, train=False, mutable=[LOSSES])
  return outputs, updates.get(LOSSES, {})


def activation(model):
  """The function that turns the model's outputs into images."""
  return ACTIVATIONS[model.output_activation]


def predict(model, variables: dict, x):
  """Restored images: an inference call with the output activation applied."""
  return activation(model)(apply_inference(model, variables, x)[0])


def hyperparameters(model) -> dict:
  """Every constructor argument of `model` (its dataclass fields), as JSON values."""
  fields = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)
            if f.name not in ('parent', 'name')}
  return json.loads(json.dumps(fields, default=repr))
