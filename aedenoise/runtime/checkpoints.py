"""Orbax checkpoints in `workdir/checkpoints/<step>`: model variables, training state, description.

Four items per step, so that each reader takes only what it needs:

* `model`: the variables inference needs: `params`, the model's state collections (BatchNorm
  statistics; aedenoise/models/contract.py) and `ema_params` (when `config.ema_decay` is on).
  Evaluation, restore and export read this alone, so they work whatever optimizer, clipping or
  schedule the config now names;
* `train`: the step and the optimizer state, read only to resume training;
* `data`: the training data iterator's state (grain's, one JSON file per process), read on resume
  by the input pipeline; a checkpoint without it (older ones) resumes the data at its step;
* `meta`: JSON describing the model (name, arguments, a hash of its variable shapes, parameter
  count) and the optimizer, so that a workdir holding another model's checkpoint, or resuming under
  another optimizer, is refused with one line instead of failing deep inside a load.

Saves are atomic (Orbax writes a temporary directory and renames it), so a run killed mid-save
resumes from the previous checkpoint. Each save also records a SHA-256 of every saved array in its
`meta`; a load verifies it, and a checkpoint that does not load or verify (truncated or flipped
files, a missing metadata file, an empty step folder) is skipped with a warning, and the next older
one is used. Only the workdir's writer (a training, which holds its lock) moves a damaged step
aside to `<step>.damaged`; readers (eval, restore) open the checkpoints read-only, so they never
move or delete a step that a running training is writing or deleting.
"""
from __future__ import annotations

import contextlib
import hashlib
import json

import grain
import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging

from aedenoise.errors import UserError, first_line
from aedenoise.models import contract
from aedenoise.runtime import compat, paths


class DamagedCheckpoint(Exception):
  """A saved step that does not load, or whose arrays do not match their recorded checksums."""


def _host(leaf) -> np.ndarray:
  """The value of a (replicated) array on this host, without gathering from other hosts."""
  if isinstance(leaf, jax.Array):
    return np.asarray(leaf.addressable_data(0))
  return np.asarray(leaf)


def checksum(tree) -> str:
  """SHA-256 of a tree's paths, dtypes, shapes and bytes."""
  digest = hashlib.sha256()
  for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
    value = _host(leaf)
    digest.update(f'{jax.tree_util.keystr(path)}:{value.dtype}:{value.shape};'.encode())
    digest.update(np.ascontiguousarray(value).tobytes())
  return digest.hexdigest()

def _shapes(tree) -> dict[str, list[int]]:
  return {jax.tree_util.keystr(path): list(np.shape(leaf))
          for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


EMA = 'ema_params'  # the `model` item's entry holding the EMA of the parameters


def describe(model_name: str, variables: dict, optimizer: str = '', opt_state=None,
             hyperparameters: dict | None = None) -> dict:
  """The description saved beside a checkpoint. `variables` are the model's collections."""
  shapes = {name: _shapes(tree) for name, tree in sorted(variables.items())}
  digest = hashlib.sha256(json.dumps(shapes, sort_keys=True).encode()).hexdigest()[:16]
  params = shapes.get(contract.PARAMS, {})
  meta = {'model': model_name, 'architecture': digest,
          'trainable_parameters': int(sum(np.prod(s) for s in params.values())),
          'param_shapes': params,
          'optimizer': {'name': optimizer,
                        'state': str(jax.tree.structure(opt_state)) if opt_state is not None else ''}}
  if hyperparameters is not None:
    meta['hyperparameters'] = hyperparameters
  return meta


def describe_state(model_name: str, optimizer: str, state, hyperparameters: dict | None = None
                   ) -> dict:
  """`describe` for a train state: its model collections, optimizer state and EMA."""
  meta = describe(model_name, state.variables(ema=False), optimizer, state.opt_state,
                  hyperparameters)
  meta['optimizer']['ema'] = state.ema_params is not None
  return meta


def model_item(state) -> dict:
  """The `model` item of a train state: its variables, and the EMA when it keeps one."""
  item = state.variables(ema=False)
  if state.ema_params is not None:
    item[EMA] = state.ema_params
  return item


def inference_variables(item: dict, ema: bool = True) -> dict:
  """What inference applies the model with, from a `model` item: the EMA parameters when they
  were kept (and `ema`), and the state collections."""
  params, model_state = contract.split({k: v for k, v in item.items() if k != EMA})
  return contract.merge(item[EMA] if ema and EMA in item else params, model_state)


def _check_optimizer(workdir: str, saved: dict, wanted: dict) -> None:
  if saved == wanted:
    return
  what = (f"optimizer {saved['name']!r}, but the config asks for {wanted['name']!r}"
          if saved['name'] != wanted['name'] else
          f"optimizer {saved['name']!r} with another state layout (EMA or momentum settings "
          f"that change the optimizer's state)")
  raise UserError(f'{workdir} was trained with {what}; resume with the same optimizer, or start '
                  f'a new --workdir (--mode=eval works with any optimizer)')


def _model_mismatch(saved: dict, wanted: dict) -> str | None:
  """What tells the saved model from the wanted one, or None when they are the same model.
  Arguments are compared when both descriptions record them."""
  name, arguments = compat.saved_model(saved)
  wanted_arguments = wanted.get('hyperparameters')
  differ = []
  if arguments is not None and wanted_arguments is not None:  # those the checkpoint recorded
    differ = sorted(k for k in arguments if arguments[k] != wanted_arguments.get(k))
  if name == wanted['model'] and saved.get('architecture') == wanted['architecture'] and not differ:
    return None

  def what(model, args, count):
    shown = {k: (args or {}).get(k) for k in differ} if name == wanted['model'] else {}
    return f'{model!r}' + (f' {shown}' if shown else '') + f' ({count:,} parameters)'
  return (f"holds a checkpoint of model {what(name, arguments, saved.get('trainable_parameters', 0))}"
          f", but the config builds "
          f"{what(wanted['model'], wanted_arguments, wanted['trainable_parameters'])}")


def _check_gcs_client(directory) -> None:
  """Orbax lists the steps of a gs:// folder after asking the bucket, through google-cloud-storage,
  whether it has a hierarchical namespace; without that package every listing fails deep inside
  Orbax, so it is asked for here in one line."""
  if paths.scheme(directory) != 'gs':
    return
  try:
    import google.cloud.storage  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    raise UserError(f'checkpoints in {directory} need google-cloud-storage (Orbax lists the steps '
                    f'of a gs:// folder through it): pip install google-cloud-storage') from None


class _IteratorState:
  """A data iterator's saved state, in the form grain's checkpoint handler reads and writes."""

  def __init__(self, state: dict | None = None):
    self.state = state

  def get_state(self) -> bytes:
    return json.dumps(self.state).encode()

  def set_state(self, state: bytes) -> None:
    self.state = json.loads(state)

  def start_prefetch(self) -> None:  # the handler starts a restored iterator; there is none here
    pass


class Checkpointer:
  """Saves and loads train states; `load_train_state` is the automatic resume."""

  def __init__(self, workdir: str, keep: int = 3, async_save: bool = True,
               read_only: bool = False):
    """`read_only`: a reader beside a training that may be running (eval, restore): it creates,
    moves and deletes nothing, and reads around the steps the training deletes meanwhile."""
    self.workdir, self.read_only = workdir, read_only
    self.directory = paths.absolute(workdir) / 'checkpoints'
    _check_gcs_client(self.directory)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=None if read_only else keep,
                                             save_interval_steps=0 if read_only else 1,
                                             create=not read_only,
                                             read_only=read_only,
                                             save_root_metadata=not read_only,
                                             enable_async_checkpointing=async_save),
        item_handlers={'model': ocp.StandardCheckpointHandler(),
                       'train': ocp.StandardCheckpointHandler(),
                       'meta': ocp.JsonCheckpointHandler(),
                       'data': grain.checkpoint.CheckpointHandler()})

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, state, meta: dict, data: dict | None = None) -> None:
    """Saves `state`; `data` is the train iterator's `get_state()` at the same step."""
    step = int(jax.device_get(state.step))
    model, train = model_item(state), {'step': state.step, 'opt_state': state.opt_state}
    meta = dict(meta, checksums={'model': checksum(model), 'train': checksum(train)})
    items = dict(model=ocp.args.StandardSave(model), train=ocp.args.StandardSave(train),
                 meta=ocp.args.JsonSave(meta))
    if data is not None:
      items['data'] = grain.checkpoint.CheckpointSave(_IteratorState(data))
    with self._saving(step):
      self._manager.save(step, args=ocp.args.Composite(**items))

  @contextlib.contextmanager
  def _saving(self, step: int | None = None):
    """An OSError of a save (a full disk, a folder gone) as one line: the checkpoints saved before
    it stay good, and the newest of them is where the same command resumes."""
    try:
      yield
    except OSError as e:
      what = f'checkpoint {step}' if step is not None else 'a checkpoint'
      raise UserError(f'cannot save {what} in {self.directory}: {e.strerror or e}; the '
                      f'checkpoints saved before it are kept, and the same command resumes from '
                      f'the newest once the cause is fixed') from None

  def save_inference(self, step: int, variables: dict, meta: dict) -> None:
    """Saves a checkpoint of the model's inference variables alone (no optimizer state), marked
    so: evaluation, restore and export read it; training refuses to resume from it."""
    meta = dict(meta, inference_only=True, checksums={'model': checksum(variables)})
    with self._saving(step):
      self._manager.save(step, args=ocp.args.Composite(model=ocp.args.StandardSave(variables),
                                                       meta=ocp.args.JsonSave(meta)))

  def load_data_state(self, step: int) -> dict | None:
    """This process's train iterator state saved at `step`; None if the checkpoint has none or it
    does not load (the data order is a function of the step, so the loader can start from that)."""
    holder = _IteratorState()
    try:
      self._manager.restore(step, args=ocp.args.Composite(
          data=grain.checkpoint.CheckpointRestore(holder)))
    except Exception as e:  # pylint: disable=broad-except
      logging.info('checkpoint %d has no usable data iterator state (%s)', step, first_line(e))
      return None
    return holder.state if isinstance(holder.state, dict) else None

  def read_meta(self, step: int) -> dict:
    try:
      meta = self._manager.restore(step, args=ocp.args.Composite(
          meta=ocp.args.JsonRestore()))['meta']
    except Exception as e:  # pylint: disable=broad-except
      raise DamagedCheckpoint(f'its description does not load ({first_line(e)})') from None
    if not isinstance(meta, dict) or 'checksums' not in meta:
      raise DamagedCheckpoint('its description is incomplete (not written by this version?)')
    return meta

  def _check_model(self, step: int, wanted: dict) -> dict:
    meta = self.read_meta(step)
    problem = _model_mismatch(meta, wanted)
    if problem:
      raise UserError(f'{self.workdir} {problem}; use another --workdir')
    return meta

  def _load_item(self, step: int, meta: dict, name: str, abstract):
    try:
      value = self._manager.restore(step, args=ocp.args.Composite(
          **{name: ocp.args.StandardRestore(abstract)}))[name]
    except Exception as e:  # pylint: disable=broad-except
      raise DamagedCheckpoint(f'its {name} arrays do not load ({first_line(e)})') from None
    if checksum(value) != meta['checksums'][name]:
      raise DamagedCheckpoint(f'its {name} arrays differ from what was saved (checksum mismatch)')
    return value

  def _newest_good(self, load):
    """(step, load(step)) for the newest step that loads and verifies; (None, None) if nothing is
    saved. A damaged step is skipped with a warning and, by the workdir's writer (which holds its
    lock), moved aside. A step that vanished while it was read was deleted by a running training
    keeping only its newest checkpoints: the listing is read again."""
    damaged, tried = [], set()
    while True:
      self._manager.reload()
      steps = sorted(set(self._manager.all_steps()) - tried, reverse=True)
      if not steps:
        break
      step = steps[0]
      tried.add(step)
      try:
        return step, load(step)
      except DamagedCheckpoint as e:
        self._manager.reload()
        if step not in self._manager.all_steps():
          logging.info('checkpoint %d in %s was deleted while it was read', step, self.directory)
          continue
        damaged.append(f'step {step}: {e}')
        logging.warning('checkpoint %d in %s is damaged and was skipped%s: %s', step,
                        self.directory, ' (left in place)' if self.read_only else '', e)
        if not self.read_only:
          self._set_aside(step)
    if damaged:
      what = ('they are left in place, and the next training run moves them aside'
              if self.read_only else 'the damaged ones were moved aside to <step>.damaged, so '
              'the next run starts from step 0')
      raise UserError(f'no usable checkpoint in {self.directory} ({"; ".join(damaged)}); {what}')
    return None, None

  def _set_aside(self, step: int) -> None:
    if jax.process_index() == 0:
      source = self.directory / str(step)
      target, n = self.directory / f'{step}.damaged', 1
      while target.exists():
        target, n = self.directory / f'{step}.damaged{n}', n + 1
      if source.exists():
        source.rename(target)
    self._manager.reload()

  def load_variables(self, meta: dict, abstract: dict):
    """(step, `model` item) of the newest good checkpoint, laid out like `abstract` (the model's
    variables as ShapeDtypeStructs with shardings); (None, None) if nothing is saved."""
    def load(step):
      saved = self._check_model(step, meta)
      wanted = dict(abstract)
      if saved['optimizer'].get('ema'):
        wanted[EMA] = abstract[contract.PARAMS]
      return self._load_item(step, saved, 'model', wanted)
    return self._newest_good(load)

  def load_train_state(self, state, meta: dict):
    """`state` as saved in the newest good checkpoint, placed like `state`; None if none is
    saved. Refused with one line when the saved optimizer state does not fit the configured one."""
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)

    def load(step):
      saved = self._check_model(step, meta)
      if saved.get('inference_only'):
        raise UserError(f'{self.workdir} holds a model for inference only (no optimizer state): '
                        f'evaluate, restore or export it; train in another --workdir')
      _check_optimizer(self.workdir, saved['optimizer'], meta['optimizer'])
      model = self._load_item(step, saved, 'model', model_item(abstract))
      train = self._load_item(step, saved, 'train',
                              {'step': abstract.step, 'opt_state': abstract.opt_state})
      params, model_state = contract.split({k: v for k, v in model.items() if k != EMA})
      return state.replace(step=train['step'], opt_state=train['opt_state'], params=params,
                           model_state=model_state, ema_params=model.get(EMA, state.ema_params))
    return self._newest_good(load)[1]

  def wait(self) -> None:
    with self._saving():
      self._manager.wait_until_finished()

  def close(self) -> None:
    with self._saving():
      self._manager.close()
