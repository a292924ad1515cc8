"""Orbax checkpoints in `workdir/checkpoints/<step>`: model variables, training state, description.

Three items per step, so that each reader takes only what it needs:

* `model`: the variables inference needs: `params`, `batch_stats` (BatchNorm models) and
  `ema_params` (when `config.ema_decay` is on). Evaluation, restore and export read this alone,
  so they work whatever optimizer, clipping or schedule the config now names;
* `train`: the step and the optimizer state, read only to resume training;
* `meta`: JSON describing the model (name, a hash of its variable shapes, parameter count) and the
  optimizer, so that a workdir holding another model's checkpoint, or resuming under another
  optimizer, is refused with one line instead of failing deep inside a restore.

Saves are atomic (Orbax writes a temporary directory and renames it), so a run killed mid-save
resumes from the previous checkpoint.
"""
from __future__ import annotations

import hashlib
import json
import os

import jax
import numpy as np
import orbax.checkpoint as ocp

from aedenoise.errors import UserError

def _shapes(tree) -> dict[str, list[int]]:
  return {jax.tree_util.keystr(path): list(np.shape(leaf))
          for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


def describe(model_name: str, variables: dict, optimizer: str = '', opt_state=None) -> dict:
  """The description saved beside a checkpoint. `variables` are the model's collections."""
  shapes = {name: _shapes(tree) for name, tree in sorted(variables.items())}
  digest = hashlib.sha256(json.dumps(shapes, sort_keys=True).encode()).hexdigest()[:16]
  return {'model': model_name, 'architecture': digest,
          'trainable_parameters': int(sum(np.prod(s) for s in shapes.get('params', {}).values())),
          'param_shapes': shapes.get('params', {}),
          'optimizer': {'name': optimizer,
                        'state': str(jax.tree.structure(opt_state)) if opt_state is not None else ''}}


def describe_state(model_name: str, optimizer: str, state) -> dict:
  """`describe` for a train state: its model collections, optimizer state and EMA."""
  meta = describe(model_name, inference_variables(model_variables(state), ema=False), optimizer,
                  state.opt_state)
  meta['optimizer']['ema'] = state.ema_params is not None
  return meta


def model_variables(state) -> dict:
  """The `model` item of a train state: only the collections it has."""
  out = {'params': state.params}
  if state.batch_stats:
    out['batch_stats'] = state.batch_stats
  if state.ema_params is not None:
    out['ema_params'] = state.ema_params
  return out


def inference_variables(variables: dict, ema: bool = True) -> dict:
  """What `model.apply` takes for evaluation: the EMA parameters when they were kept (and `ema`)."""
  out = {'params': variables['ema_params'] if ema and 'ema_params' in variables
         else variables['params']}
  if variables.get('batch_stats'):
    out['batch_stats'] = variables['batch_stats']
  return out


def _model_mismatch(saved: dict, wanted: dict) -> str | None:
  if saved.get('model') != wanted['model'] or saved.get('architecture') != wanted['architecture']:
    return (f"holds a checkpoint of model {saved.get('model')!r} "
            f"({saved.get('trainable_parameters', 0):,} parameters), but the config builds "
            f"{wanted['model']!r} ({wanted['trainable_parameters']:,} parameters)")
  return None


class Checkpointer:
  """Saves and restores train states; `restore_train` is the automatic resume."""

  def __init__(self, workdir: str, keep: int = 3, async_save: bool = True):
    self.workdir = workdir
    self.directory = os.path.abspath(os.path.join(workdir, 'checkpoints'))
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                             enable_async_checkpointing=async_save),
        item_handlers={'model': ocp.StandardCheckpointHandler(),
                       'train': ocp.StandardCheckpointHandler(),
                       'meta': ocp.JsonCheckpointHandler()})

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, state, meta: dict) -> None:
    step = int(jax.device_get(state.step))
    train = {'step': state.step, 'opt_state': state.opt_state}
    self._manager.save(step, args=ocp.args.Composite(
        model=ocp.args.StandardSave(model_variables(state)), train=ocp.args.StandardSave(train),
        meta=ocp.args.JsonSave(meta)))

  def read_meta(self, step: int) -> dict:
    try:
      return self._manager.restore(step, args=ocp.args.Composite(
          meta=ocp.args.JsonRestore()))['meta']
    except (FileNotFoundError, KeyError, ValueError) as e:
      raise UserError(f'{self.directory}/{step} is not a checkpoint of this version of aedenoise '
                      f'({type(e).__name__}); use another --workdir') from None

  def check_model(self, meta: dict, step: int | None = None) -> int | None:
    """The step to restore (None: nothing saved); UserError for another model's checkpoint."""
    step = self.latest_step() if step is None else step
    if step is None:
      return None
    problem = _model_mismatch(self.read_meta(step), meta)
    if problem:
      raise UserError(f'{self.workdir} {problem}; use another --workdir')
    return step

  def restore_variables(self, meta: dict, abstract: dict, step: int | None = None):
    """(step, model variables) of the newest (or given) checkpoint, laid out like `abstract`
    (a tree of ShapeDtypeStructs with shardings); (None, None) if nothing is saved."""
    step = self.check_model(meta, step)
    if step is None:
      return None, None
    saved = self._manager.item_metadata(step)['model']
    abstract = {k: v for k, v in abstract.items() if k in saved}
    if 'ema_params' in saved and 'ema_params' not in abstract:
      abstract['ema_params'] = abstract['params']
    variables = self._manager.restore(step, args=ocp.args.Composite(
        model=ocp.args.StandardRestore(abstract)))['model']
    return step, variables

  def restore_train(self, state, meta: dict):
    """`state` restored from the newest checkpoint, placed like `state`; None if none is saved.
    Refused with one line when the saved optimizer state does not fit the configured one."""
    step = self.check_model(meta)
    if step is None:
      return None
    saved = self.read_meta(step)['optimizer']
    wanted = meta['optimizer']
    if saved != wanted:
      what = (f"optimizer {saved['name']!r}, but the config asks for {wanted['name']!r}"
              if saved['name'] != wanted['name'] else
              f"optimizer {saved['name']!r} with another state layout (EMA, momentum or "
              f"gradient-clipping settings that change the optimizer's state)")
      raise UserError(f'{self.workdir} was trained with {what}; resume with the same optimizer, '
                      f'or start a new --workdir (--mode=eval works with any optimizer)')
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    restored = self._manager.restore(step, args=ocp.args.Composite(
        model=ocp.args.StandardRestore(model_variables(abstract)),
        train=ocp.args.StandardRestore({'step': abstract.step, 'opt_state': abstract.opt_state})))
    model, train = restored['model'], restored['train']
    return state.replace(step=train['step'], opt_state=train['opt_state'], params=model['params'],
                         batch_stats=model.get('batch_stats', state.batch_stats),
                         ema_params=model.get('ema_params', state.ema_params))

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()
