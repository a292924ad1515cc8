"""Orbax checkpoints in `workdir/checkpoints/<step>`: the train state plus a JSON description.

The description names the model and its parameter shapes, so a workdir that holds another model's
checkpoint is refused with one line instead of failing deep inside a restore. Saves are atomic
(Orbax writes a temporary directory and renames it), so a run killed mid-save resumes from the
previous checkpoint.
"""
from __future__ import annotations

import os

import jax
import numpy as np
import orbax.checkpoint as ocp

from aedenoise.errors import UserError


def describe(model_name: str, params) -> dict:
  shapes = {jax.tree_util.keystr(path): list(np.shape(leaf))
            for path, leaf in jax.tree_util.tree_leaves_with_path(params)}
  return {'model': model_name,
          'trainable_parameters': int(sum(np.prod(s) for s in shapes.values())),
          'param_shapes': shapes}


def _mismatch(saved: dict, wanted: dict) -> str | None:
  if saved.get('model') != wanted['model'] or saved.get('param_shapes') != wanted['param_shapes']:
    return (f"holds a checkpoint of model {saved.get('model')!r} "
            f"({saved.get('trainable_parameters', 0):,} parameters), but the config builds "
            f"{wanted['model']!r} ({wanted['trainable_parameters']:,} parameters)")
  return None


class Checkpointer:
  """Saves and restores `TrainState`s; `restore_or(state)` is the automatic resume."""

  def __init__(self, workdir: str, keep: int = 3, async_save: bool = True):
    self.directory = os.path.abspath(os.path.join(workdir, 'checkpoints'))
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                             enable_async_checkpointing=async_save),
        item_names=('state', 'meta'))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, state, meta: dict) -> None:
    step = int(jax.device_get(state.step))
    self._manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(state),
                                                     meta=ocp.args.JsonSave(meta)))

  def check_compatible(self, meta: dict, step: int | None = None) -> int | None:
    """The step to restore (None: nothing saved); raises UserError for another model's checkpoint."""
    step = self.latest_step() if step is None else step
    if step is None:
      return None
    saved = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))['meta']
    problem = _mismatch(saved, meta)
    if problem:
      raise UserError(f'{os.path.dirname(self.directory)} {problem}; use another --workdir')
    return step

  def restore(self, state, meta: dict, step: int | None = None):
    """`state` restored from `step` (default: latest), placed like `state`; None if none saved."""
    step = self.check_compatible(meta, step)
    if step is None:
      return None
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    return self._manager.restore(
        step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract)))['state']

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()
