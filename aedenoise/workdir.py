"""The workdir and output folders: checked before a run computes anything, written without
overwriting what an earlier run left, and interrupts turned into a clean stop.

* `check_writable` fails in one line for a path that is a file, cannot be created or is read-only,
  before a run spends time on training or evaluation;
* `save_config` writes `config.json` once; a later run of the same workdir with another config
  keeps it and writes `config.<step>.json` beside it (the step it starts from), so what each part of
  a run was trained with stays on disk;
* `check_separate` refuses an output folder that is the input, inside it, or contains it;
* `StopRequests` turns SIGINT and SIGTERM (what cloud TPU preemption sends) into a flag that the
  training loop reads between steps, so it can save a checkpoint at the step it reached.
"""
from __future__ import annotations

import json
import os
import signal
import tempfile
import threading

from aedenoise.errors import UserError


def _describe_os_error(e: OSError) -> str:
  return e.strerror or type(e).__name__


def check_writable(path: str, what: str = '--workdir') -> None:
  """Creates `path` if needed and proves it writable with a temporary file; UserError if not."""
  if os.path.exists(path) and not os.path.isdir(path):
    raise UserError(f'{what} {path} is a file, not a folder')
  try:
    os.makedirs(path, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path, prefix='.write-test-'):
      pass
  except OSError as e:
    raise UserError(f'{what} {path} is not writable: {_describe_os_error(e)}') from None


def config_json(config) -> str:
  return config.to_json_best_effort(indent=2, sort_keys=True)


def save_config(config, workdir: str, step: int) -> str:
  """Writes the run's config; returns the file name used (or the existing one it matched)."""
  text = config_json(config)
  first = os.path.join(workdir, 'config.json')
  if not os.path.exists(first):
    _write_text(first, text)
    return first
  with open(first) as f:
    if _same_json(f.read(), text):
      return first
  path = os.path.join(workdir, f'config.{step}.json')
  _write_text(path, text)
  return path


def load_config(workdir: str):
  """The newest config a run of `workdir` saved (config.json, or the latest config.<step>.json),
  as a ConfigDict; None if it holds none."""
  import ml_collections  # pylint: disable=g-import-not-at-top
  if not os.path.isdir(workdir):
    return None
  steps = [int(n.split('.')[1]) for n in os.listdir(workdir)
           if n.startswith('config.') and n.endswith('.json') and n.split('.')[1].isdigit()]
  name = f'config.{max(steps)}.json' if steps else 'config.json'
  path = os.path.join(workdir, name)
  if not os.path.isfile(path):
    return None
  try:
    with open(path) as f:
      return ml_collections.ConfigDict(json.load(f))
  except (OSError, json.JSONDecodeError) as e:
    raise UserError(f'cannot read {path}: {e}') from None


def _same_json(a: str, b: str) -> bool:
  try:
    return json.loads(a) == json.loads(b)
  except json.JSONDecodeError:
    return False


def _write_text(path: str, text: str) -> None:
  """Written to a temporary file and renamed, so a crash never leaves half a file."""
  try:
    with tempfile.NamedTemporaryFile('w', dir=os.path.dirname(path), delete=False,
                                     prefix='.tmp-') as f:
      f.write(text)
    os.replace(f.name, path)
  except OSError as e:
    raise UserError(f'cannot write {path}: {_describe_os_error(e)}') from None


RESTARTS_FILE = 'nonfinite_stops.json'


def read_restarts(workdir: str) -> int:
  """How many runs in `workdir` stopped for non-finite updates (0 if none)."""
  try:
    with open(os.path.join(workdir, RESTARTS_FILE)) as f:
      return len(json.load(f))
  except FileNotFoundError:
    return 0
  except (OSError, ValueError) as e:
    raise UserError(f'cannot read {os.path.join(workdir, RESTARTS_FILE)}: {e}') from None


def record_divergence(workdir: str, step: int) -> int:
  """Appends a stop at `step` to the workdir's record; returns the number of stops now."""
  path = os.path.join(workdir, RESTARTS_FILE)
  stops = []
  if os.path.exists(path):
    with open(path) as f:
      stops = json.load(f)
  stops.append({'step': step})
  _write_text(path, json.dumps(stops) + '\n')
  return len(stops)


def check_separate(input_dir: str, output_dir: str) -> None:
  """UserError if the output folder is the input folder, inside it, or one of its ancestors."""
  src, dst = os.path.realpath(input_dir), os.path.realpath(output_dir)
  if dst == src or dst.startswith(src + os.sep) or src.startswith(dst + os.sep):
    raise UserError(f'--output {output_dir} must lie outside --input {input_dir} and not contain '
                    f'it (outputs would mix with, or overwrite, the originals)')
  if os.path.exists(output_dir) and not os.path.isdir(output_dir):
    raise UserError(f'--output {output_dir} is a file, not a folder')


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
