"""Workdirs written by earlier versions, read as today's: their checkpoint descriptions named each
MNIST model separately ('mnist_dae_d5_l8') before a model's arguments came from
`config.model_kwargs` ('mnist_dae' with depth 5, latent 8). The variables are stored the same way,
so only names are translated (their configs: configs/default.py's `from_saved`); tests/fixtures
holds workdirs of that version."""
from __future__ import annotations

from aedenoise.models import mnist_dae

LEGACY_MODELS = {name: ('mnist_dae', kwargs) for name, kwargs in mnist_dae.LEGACY_NAMES.items()}


def saved_model(meta: dict) -> tuple[str | None, dict | None]:
  """(model name, the arguments it was saved with, or None when unrecorded) of a checkpoint's
  description."""
  name = meta.get('model')
  if name in LEGACY_MODELS:
    return LEGACY_MODELS[name]
  return name, meta.get('hyperparameters')
