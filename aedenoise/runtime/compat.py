"""Workdirs written by earlier versions, read as today's: their configs and checkpoint
descriptions named each MNIST model separately ('mnist_dae_d5_l8') before a model's arguments came
from `config.model_kwargs` ('mnist_dae' with depth 5, latent 8). The variables are stored the same
way, so only names are translated; tests/fixtures holds workdirs of that version."""
from __future__ import annotations

from aedenoise.models import mnist_dae

LEGACY_MODELS = {f'mnist_dae_d{d}_l{l}': ('mnist_dae', {'depth': d, 'latent': l})
                 for d, l in mnist_dae.KERNELS}


def upgrade_config(config):
  """A config read from a workdir's config.json, with today's model name and `model_kwargs`."""
  if config.get('model') in LEGACY_MODELS:
    name, kwargs = LEGACY_MODELS[config.model]
    config.model = name
    config.model_kwargs = kwargs
  elif 'model_kwargs' not in config:
    config.model_kwargs = {}
  return config


def saved_model(meta: dict) -> tuple[str | None, dict | None]:
  """(model name, the arguments it was saved with, or None when unrecorded) of a checkpoint's
  description."""
  name = meta.get('model')
  if name in LEGACY_MODELS:
    return LEGACY_MODELS[name]
  return name, meta.get('hyperparameters')
