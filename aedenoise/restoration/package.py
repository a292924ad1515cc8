"""`--mode=package --workdir=W --output=DIR`: a trained workdir as a small one to share: its
config and one checkpoint of the variables inference uses (the EMA of the parameters where it was
kept), without optimizer or data state. Every mode that reads a model takes DIR as its --workdir
(eval, restore, benchmark, export); training refuses to resume from it. pretrained/ holds such
workdirs, each with a model card (README.md) written by hand from its run.
"""
from __future__ import annotations

import copy
import os

from aedenoise import validation
from aedenoise.errors import UserError
from aedenoise.models import contract
from aedenoise.restoration import inference
from aedenoise.runtime import checkpoints, parallel, paths
from aedenoise.runtime import workdir as workdir_lib


def package(config, workdir: str, output: str) -> dict:
  """Writes DIR/config.json and DIR/checkpoints/<step>; returns the checkpoint's description."""
  validation.validate(config)
  if (paths.path(output) / 'checkpoints').exists():
    raise UserError(f'{output} already holds checkpoints; package into a new --output')
  loaded = inference.load_model(config, workdir, parallel.create_mesh())
  workdir_lib.check_writable(output, '--output')
  shipped = copy.deepcopy(config)
  shipped.ema_decay = 0.0  # the packaged parameters are the EMA already
  workdir_lib.save_config(shipped, output, loaded.step)
  meta = checkpoints.describe(config.model, loaded.variables,
                              hyperparameters=contract.hyperparameters(loaded.model))
  meta['packaged_from'] = {'workdir': os.path.abspath(workdir) if paths.is_local(workdir)
                                      else workdir, 'step': loaded.step}
  checkpointer = checkpoints.Checkpointer(output, keep=1, async_save=False)
  try:
    checkpointer.save_inference(loaded.step, loaded.variables, meta)
  finally:
    checkpointer.close()
  print(f"packaged {config.model} at step {loaded.step} ({meta['trainable_parameters']:,} "
        f"parameters) into {output}")
  return meta
