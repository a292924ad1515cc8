"""`--mode=package --workdir=W --output=DIR`: a trained workdir as a small one to share: its
config and one checkpoint of the variables inference uses (the EMA of the parameters where it was
kept), without optimizer or data state. Every mode that reads a model takes DIR as its --workdir
(eval, restore, benchmark, export); training refuses to resume from it. pretrained/ holds such
workdirs, each with a model card (README.md) written by hand from its run.
"""
from __future__ import annotations

import copy
import os
import shutil

from aedenoise import validation
from aedenoise.errors import UserError
from aedenoise.models import contract
from aedenoise.restoration import inference
from aedenoise.runtime import checkpoints, parallel, paths
from aedenoise.runtime import workdir as workdir_lib


def package(config, workdir: str, output: str) -> dict:
  """Writes DIR/config.json and DIR/checkpoints/<step>; returns the checkpoint's description.
  A local DIR is written as a temporary folder beside it and renamed into place whole, so two
  runs into one DIR cannot mix their files and a failure leaves nothing half-written."""
  task = validation.validate(config)
  workdir_lib.check_outside(output, workdir, '--output')
  _check_new(output)
  loaded = inference.load_model(task, workdir, parallel.create_mesh())
  created = workdir_lib.first_missing(output)
  workdir_lib.check_writable(output, '--output')
  shipped = copy.deepcopy(config)
  shipped.ema_decay = 0.0  # the packaged parameters are the EMA already
  meta = checkpoints.describe(config.model, loaded.variables,
                              hyperparameters=contract.hyperparameters(loaded.model))
  meta['packaged_from'] = {'workdir': os.path.abspath(workdir) if paths.is_local(workdir)
                                      else workdir, 'step': loaded.step}
  local = paths.is_local(output)
  target = _temporary(output) if local else output
  try:
    workdir_lib.save_config(shipped, target, loaded.step)
    checkpointer = checkpoints.Checkpointer(target, keep=1, async_save=False)
    try:
      checkpointer.save_inference(loaded.step, loaded.variables, meta)
    finally:
      checkpointer.close()
    if local:
      _move_into_place(target, output)
  except OSError as e:
    workdir_lib.remove_if_empty(output, created)
    raise UserError(f'cannot write {e.filename or output}: {e.strerror or e}; nothing was '
                    f'packaged into {output}') from None
  finally:
    if local and os.path.exists(target):
      shutil.rmtree(target, ignore_errors=True)
  print(f"packaged {config.model} at step {loaded.step} ({meta['trainable_parameters']:,} "
        f"parameters) into {output}")
  return meta


def _check_new(output: str) -> None:
  """UserError unless `output` is new or an empty folder: a package is a whole folder of its
  own, and the rename that puts it in place could not keep files already there."""
  target = paths.path(output)
  if (target / 'checkpoints').exists():
    raise UserError(f'{output} already holds checkpoints; package into a new --output')
  workdir_lib.check_not_in_run(output, '--output')
  if not paths.is_local(output):
    return
  if os.path.isfile(output):
    raise UserError(f'--output {output} is a file; package writes a folder')
  held = sorted(os.listdir(output)) if os.path.isdir(output) else []
  if held:
    raise UserError(f'--output {output} holds files ({", ".join(held[:3])}'
                    f'{" and more" if len(held) > 3 else ""}); package into a new or empty folder')


def _temporary(output: str) -> str:
  """A new hidden folder beside `output`, named for this process."""
  parent, name = os.path.split(os.path.abspath(output))
  path = os.path.join(parent, f'.{name}.{os.getpid()}.package-tmp')
  shutil.rmtree(path, ignore_errors=True)  # a killed run of this pid's predecessor
  os.makedirs(path)
  return path


def _move_into_place(folder: str, output: str) -> None:
  """Renames `folder` to `output` (an empty folder there is replaced: rename(2) does so, and
  refuses a full one); UserError when another run filled `output` first."""
  try:
    os.rename(folder, output)
  except OSError:
    if os.path.isdir(output) and os.listdir(output):
      raise UserError(f'{output} was filled by another run while this one packaged; nothing '
                      f'of this run was written there') from None
    raise
