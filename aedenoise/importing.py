"""`--mode=import`: a model trained elsewhere (a PyTorch state dict) as a checkpoint of a workdir.

The weights are read without running pickled code (torch_import.py) and mapped onto the model the
config builds; the checkpoint written at step 0 is an ordinary one, with a fresh optimizer state, so
`--mode=eval` scores the imported model and `--mode=train` fine-tunes it.
"""
from __future__ import annotations

import os
import pickle
import zipfile

import jax
import numpy as np

from aedenoise import build, checkpoints, optim, torch_import, train_state, validation
from aedenoise.errors import UserError
from aedenoise.models import contract


def import_torch_weights(config, workdir: str, path: str) -> dict:
  """Writes `workdir/checkpoints/0` from the state dict at `path`; returns its description."""
  validation.validate(config)
  if not os.path.isfile(path):
    raise UserError(f'--input {path} is not a file')
  try:
    state_dict = torch_import.load_state_dict(path)
  except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError) as e:
    if isinstance(e, UserError):
      raise
    raise UserError(f'{path}: not a readable PyTorch state dict ({e})') from None
  model = build.create_model(config)
  variables = torch_import.to_flax_variables(state_dict, model, build.input_shape(config))
  imported = train_state.from_variables(config, model, optim.create_optimizer(config),
                                        jax.tree.map(np.asarray, variables))
  meta = checkpoints.describe_state(config.model, config.optimizer, imported,
                                    contract.hyperparameters(model))
  meta['imported_from'] = os.path.abspath(path)
  checkpointer = checkpoints.Checkpointer(workdir, keep=config.keep_checkpoints, async_save=False)
  try:
    if checkpointer.latest_step() is not None:
      raise UserError(f'{workdir} already holds checkpoints; import into a new --workdir')
    checkpointer.save(imported, meta)
  finally:
    checkpointer.close()
  print(f"imported {len(state_dict)} tensors from {path} into {checkpointer.directory}/0: "
        f"{build.model_label(config)}, {meta['trainable_parameters']:,} trainable parameters")
  return meta
