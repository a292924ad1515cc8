"""The workdir and output folders: checked before a run computes anything, written without
overwriting what an earlier run left, and interrupts turned into a clean stop.

* `check_writable` fails in one line for a path that is a file, cannot be created or is read-only,
  before a run spends time on training or evaluation;
* `save_config` writes `config.json` once; a later run of the same workdir with another config
  keeps it and writes `config.<step>.json` beside it (the step it starts from), so what each part of
  a run was trained with stays on disk;
* `check_separate` refuses an output folder that is the input, inside it, or contains it;
* `first_missing` and `remove_if_empty` undo the folders a run made when it fails to start;
* `StopRequests` turns SIGINT and SIGTERM (what cloud TPU preemption sends) into a flag that the
  training loop reads between steps, so it can save a checkpoint at the step it reached;
  `RaiseOnSignals` turns them into `Interrupted` where there is nothing to save first (eval,
  restore, degrade, score): one line instead of a traceback or a silent exit, and what was
  written stays whole (every file is written through a temporary file); `signals_deferred` holds
  them back while a file is written and counted.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import uuid

from aedenoise.configs import default
from aedenoise.errors import Interrupted, UserError, first_line
from aedenoise.runtime import paths


def _describe_os_error(e: OSError) -> str:
  return e.strerror or type(e).__name__


def check_writable(path: str, what: str = '--workdir') -> None:
  """Creates `path` if needed and proves it writable with a temporary file; UserError if not."""
  folder = paths.path(path)
  if folder.exists() and not folder.is_dir():
    raise UserError(f'{what} {path} is a file, not a folder')
  try:
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f'.write-test-{uuid.uuid4().hex}'
    probe.write_text('')
    probe.unlink()
  except OSError as e:
    raise UserError(f'{what} {path} is not writable: {_describe_os_error(e)}') from None


# What a training writes into its workdir first: a folder holding one of these is a run's.
RUN_MARKS = ('config.json', 'checkpoints')


def check_trainable(path: str) -> None:
  """UserError when `path` is a folder that holds files but no run (neither config.json nor
  checkpoints/): a training would write its config, metrics and figures over the user's files."""
  if not paths.is_local(path) or not os.path.isdir(path):
    return
  entries = sorted(e for e in os.listdir(path) if not e.startswith('.') and e != 'train.lock')
  if entries and not any(m in entries for m in RUN_MARKS):
    shown = ', '.join(entries[:3]) + (f' and {len(entries) - 3} more' if len(entries) > 3 else '')
    raise UserError(f'--workdir {path} holds files ({shown}) but no run (no config.json or '
                    f'checkpoints/): a training would write over them; name a new or empty folder')


def check_outside(output: str, workdir: str, what: str, folder: str = '') -> None:
  """UserError when `output` lies inside `workdir` (or its `folder`, e.g. 'checkpoints'), which the
  mode reads: what it writes would mix with, or replace, the run's own files."""
  if not (output and workdir and paths.is_local(output) and paths.is_local(workdir)):
    return
  inner = os.path.realpath(os.path.join(workdir, folder))
  real = os.path.realpath(output)
  if real == inner or real.startswith(inner.rstrip(os.sep) + os.sep):
    where = f'{folder}/ of --workdir {workdir}' if folder else f'--workdir {workdir}'
    raise UserError(f'{what} {output} lies inside {where}, which this mode reads; write it '
                    f'elsewhere')


def run_holding(path: str) -> str | None:
  """The training workdir (a folder holding config.json and checkpoints/) that `path` is or lies
  inside, or None."""
  if not path or not paths.is_local(path):
    return None
  config, checkpoints = RUN_MARKS
  here = os.path.realpath(path)
  while True:
    if (os.path.isfile(os.path.join(here, config)) and
        os.path.isdir(os.path.join(here, checkpoints))):
      return here
    parent = os.path.dirname(here)
    if parent == here:
      return None
    here = parent


def check_not_in_run(output: str, what: str) -> None:
  """UserError when `output` is, or lies inside, a training workdir: what a mode writes there
  would mix with the run's own files (its checkpoints, metrics and evaluations)."""
  run = run_holding(output)
  if run is not None:
    where = 'is' if run == os.path.realpath(output) else 'lies inside'
    raise UserError(f'{what} {output} {where} a training workdir ({run} holds config.json and '
                    f'checkpoints/); write it elsewhere')


def config_json(config) -> str:
  return config.to_json_best_effort(indent=2, sort_keys=True)


def save_config(config, workdir: str, step: int) -> str:
  """Writes the run's config; returns the file name used (or the existing one it matched)."""
  text = config_json(config)
  first = paths.path(workdir) / 'config.json'
  if not first.exists():
    _write_text(first, text)
    return str(first)
  if _same_json(first.read_text(), text):
    return str(first)
  path = paths.path(workdir) / f'config.{step}.json'
  _write_text(path, text)
  return str(path)


def display_name(workdir: str) -> str:
  """What tables call a workdir's model: the workdir's own name ('unet_grey_blind' for
  pretrained/unet_grey_blind/), which tells apart two runs of one architecture."""
  return paths.path(str(workdir).rstrip('/')).name or str(workdir)


def load_config(workdir: str):
  """The newest config a run of `workdir` saved (config.json, or the latest config.<step>.json),
  as a ConfigDict; None if it holds none."""
  folder = paths.path(workdir)
  if not folder.is_dir():
    return None
  steps = [int(p.name.split('.')[1]) for p in folder.iterdir()
           if p.name.startswith('config.') and p.name.endswith('.json')
           and p.name.split('.')[1].isdigit()]
  path = folder / (f'config.{max(steps)}.json' if steps else 'config.json')
  if not path.is_file():
    return None
  try:
    saved = json.loads(path.read_text())
  except (OSError, ValueError) as e:  # unreadable, not UTF-8, not JSON
    raise UserError(f'cannot read {path}: {e}') from None
  if not isinstance(saved, dict) or not isinstance(saved.get('model'), str):
    raise UserError(f'{path} is not a run\'s config: a JSON object naming its model')
  try:
    return default.from_saved(saved)
  except (TypeError, ValueError, AttributeError, KeyError) as e:
    raise UserError(f'{path}: {first_line(e)}') from None


def _same_json(a: str, b: str) -> bool:
  try:
    return json.loads(a) == json.loads(b)
  except json.JSONDecodeError:
    return False


def _write_text(path, text: str) -> None:
  try:
    paths.write_text(path, text)
  except OSError as e:
    raise UserError(f'cannot write {path}: {_describe_os_error(e)}') from None


RESTARTS_FILE = 'nonfinite_stops.json'


def read_restarts(workdir: str) -> int:
  """How many runs in `workdir` stopped for non-finite updates (0 if none)."""
  path = paths.path(workdir) / RESTARTS_FILE
  try:
    return len(json.loads(path.read_text()))
  except FileNotFoundError:
    return 0
  except (OSError, ValueError) as e:
    raise UserError(f'cannot read {path}: {e}') from None


def record_divergence(workdir: str, step: int) -> int:
  """Appends a stop at `step` to the workdir's record; returns the number of stops now."""
  path = paths.path(workdir) / RESTARTS_FILE
  stops = json.loads(path.read_text()) if path.exists() else []
  stops.append({'step': step})
  _write_text(path, json.dumps(stops) + '\n')
  return len(stops)


def check_separate(input_dir: str, output_dir: str) -> None:
  """UserError if the output folder is the input folder, inside it, or one of its ancestors.
  Inputs are local (paths.check_local_input), so an output URL can overlap none."""
  if paths.is_local(output_dir):
    src, dst = os.path.realpath(input_dir), os.path.realpath(output_dir)
    if dst == src or dst.startswith(src + os.sep) or src.startswith(dst + os.sep):
      raise UserError(f'--output {output_dir} must lie outside --input {input_dir} and not '
                      f'contain it (outputs would mix with, or overwrite, the originals)')
  output = paths.path(output_dir)
  if output.exists() and not output.is_dir():
    raise UserError(f'--output {output_dir} is a file, not a folder')


def first_missing(path: str) -> str | None:
  """The outermost folder of `path` that does not exist yet (None if `path` exists)."""
  if not paths.is_local(path):
    return None if paths.path(path).is_dir() else path
  path = os.path.abspath(path)
  missing = None
  while not os.path.exists(path):
    missing, path = path, os.path.dirname(path)
  return missing


def remove_if_empty(path: str, created: str | None) -> None:
  """Undoes the folders a run made before it failed to start (only those still empty), from
  `path` up to `created`, the outermost one it made."""
  if created is None:
    return
  if not paths.is_local(path):  # an object store: no folders to leave behind but these
    folders = [paths.path(path) / 'checkpoints', paths.path(path)]
  else:
    folders = [os.path.join(path, 'checkpoints'), os.path.abspath(path)]
    while folders[-1] != created and len(folders[-1]) > len(created):
      folders.append(os.path.dirname(folders[-1]))
  for folder in folders:
    if not paths.path(folder).is_dir():  # never made (epath's rmdir says NotADirectoryError)
      continue
    try:
      paths.path(folder).rmdir()
    except FileNotFoundError:
      continue
    except (OSError, ValueError):  # not empty (epath raises ValueError): something lives there
      return


class StopRequests:
  """Within `with StopRequests() as stop:`, SIGINT and SIGTERM set `stop.signal` instead of
  killing the process; a second one of the same kind stops at once, as usual."""

  def __init__(self):
    self.signal: int | None = None
    self._previous = {}

  def _handle(self, signum, frame):
    del frame
    if self.signal == signum:  # asked twice: the user means it
      signal.signal(signum, self._previous.get(signum, signal.SIG_DFL))
      os.kill(os.getpid(), signum)
      return
    self.signal = signum

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for s in (signal.SIGINT, signal.SIGTERM):
        self._previous[s] = signal.signal(s, self._handle)
    return self

  def __exit__(self, *exc):
    for s, handler in self._previous.items():
      signal.signal(s, handler)
    return False

  @property
  def name(self) -> str:
    return signal.Signals(self.signal).name if self.signal else ''


class RaiseOnSignals:
  """Within `with RaiseOnSignals('--mode=eval'):`, the first SIGINT or SIGTERM raises Interrupted
  (one line, exit status 128 + the signal), or, inside `signals_deferred()`, at its end; a second
  one acts as it would without this."""

  def __init__(self, what: str):
    self.what = what
    self._previous = {}

  def _handle(self, signum, frame):
    del frame
    if _DEFERRED['depth']:
      _DEFERRED['pending'] = (self, signum)
      return
    self.stop(signum)

  def stop(self, signum: int):
    self.__exit__()
    raise Interrupted(f'stopped by {signal.Signals(signum).name} during {self.what}', signum)

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      for s in (signal.SIGINT, signal.SIGTERM):
        self._previous[s] = signal.signal(s, self._handle)
    return self

  def __exit__(self, *exc):
    for s, handler in self._previous.items():
      signal.signal(s, handler)
    self._previous = {}
    return False


_DEFERRED = {'depth': 0, 'pending': None}


@contextlib.contextmanager
def signals_deferred():
  """A signal that `RaiseOnSignals` would turn into Interrupted waits until the block ends: what
  the block does (write a file and count it) is done whole before the run stops."""
  _DEFERRED['depth'] += 1
  try:
    yield
  finally:
    _DEFERRED['depth'] -= 1
  pending = _DEFERRED['pending']
  if pending and not _DEFERRED['depth']:
    _DEFERRED['pending'] = None
    raiser, signum = pending
    raiser.stop(signum)
