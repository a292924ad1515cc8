"""`--mode=import`: a model trained elsewhere (a PyTorch state dict) as a checkpoint of a workdir.

The weights are read without running pickled code (torch_import.py) and mapped onto the model the
config builds; the checkpoint written at step 0 is an ordinary one, with a fresh optimizer state, so
`--mode=eval` scores the imported model and `--mode=train` fine-tunes it.
"""
from __future__ import annotations

import os

import jax
import numpy as np

from aedenoise import build, optim, validation
from aedenoise.errors import UserError
from aedenoise.models import contract
from aedenoise.runtime import checkpoints, paths, workdir_lock
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.training import torch_import, train_state


def import_torch_weights(config, workdir: str, path: str) -> dict:
  """Writes `workdir/checkpoints/0` from the state dict at `path`; returns its description.
  The file is read and mapped onto the model before the workdir is touched."""
  task = validation.validate(config)
  if not os.path.isfile(path):
    raise UserError(f'--input {path} is not a file')
  model, shape = task.model, task.input_shape()
  try:
    state_dict = torch_import.load_state_dict(path, torch_import.model_size(model, shape))
  except OSError as e:
    raise UserError(f'cannot read --input {path}: {e.strerror or e}') from None
  variables = torch_import.to_flax_variables(state_dict, model, shape)
  imported = train_state.from_variables(config, model, optim.create_optimizer(config),
                                        jax.tree.map(np.asarray, variables))
  meta = checkpoints.describe_state(config.model, config.optimizer, imported,
                                    contract.hyperparameters(model))
  meta['imported_from'] = os.path.abspath(path)
  workdir_lib.check_trainable(workdir)
  created = workdir_lib.first_missing(workdir)
  workdir_lib.check_writable(workdir)
  try:
    with workdir_lock.acquire(workdir, 'import'):
      _save(config, workdir, imported, meta)
  except BaseException:
    workdir_lib.remove_if_empty(workdir, created)
    raise
  print(f"imported {len(state_dict)} tensors from {path} into "
        f"{paths.path(workdir) / 'checkpoints'}/0: {build.model_label(config)}, "
        f"{meta['trainable_parameters']:,} trainable parameters")
  return meta


def _save(config, workdir: str, imported, meta: dict) -> None:
  checkpointer = checkpoints.Checkpointer(workdir, keep=config.keep_checkpoints, async_save=False)
  try:
    if checkpointer.latest_step() is not None:
      raise UserError(f'{workdir} already holds checkpoints; import into a new --workdir')
    checkpointer.save(imported, meta)
  except OSError as e:
    raise UserError(f'cannot write a checkpoint in {checkpointer.directory}: '
                    f'{e.strerror or e}') from None
  finally:
    checkpointer.close()
