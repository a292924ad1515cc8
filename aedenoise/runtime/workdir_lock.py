"""One workdir, one writer: a training (or an import) holds an OS file lock on `W/train.lock`
while it runs, so a second one on the same workdir is refused in one line that names the holder,
instead of both writing checkpoints and metrics over each other.

The lock is `fcntl.flock` on an open file: the kernel drops it when the holding process ends in any
way, `kill -9` included, so a workdir is never left locked by a run that is gone and the next run
starts at once. The file records the holder's pid and host for the refusal message; a run that
ends normally deletes it (safely: a run that locked a file since unlinked checks the inode and
locks the new one). Readers (eval, restore) take no lock: checkpoints are read-only to them
(aedenoise/runtime/checkpoints.py).

In a multi-process run only process 0 takes the lock and every process learns its outcome, so
the processes of one run never refuse each other. A workdir at a URL (gs://...) cannot be locked;
a warning says so.
"""
from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket

import jax
from absl import logging

from aedenoise.errors import UserError
from aedenoise.runtime import parallel, paths

LOCK_FILE = 'train.lock'
_HELD: set[int] = set()  # lock file descriptors of this process


def _close_in_child() -> None:
  """A forked child (a data-loading worker) must not keep the lock alive after its parent dies:
  the lock belongs to the open file, which the child's copy of the descriptor would hold."""
  for fd in list(_HELD):
    try:
      os.close(fd)
    except OSError:
      pass
  _HELD.clear()


os.register_at_fork(after_in_child=_close_in_child)


class WorkdirBusy(UserError):
  """Another process holds the workdir's lock."""


class WorkdirLock:
  """A held lock (or none, where none can be taken); `release` ends it."""

  def __init__(self, path: str | None = None, fd: int | None = None):
    self.path, self.fd = path, fd

  def release(self) -> None:
    if self.fd is None:
      return
    try:
      os.unlink(self.path)  # while still locked: see the inode check in `_lock_file`
    except OSError:
      pass
    _HELD.discard(self.fd)
    os.close(self.fd)
    self.fd = None

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.release()
    return False


def _holder(fd: int) -> str:
  try:
    info = json.loads(os.pread(fd, 4096, 0).decode() or '{}')
  except (OSError, ValueError):
    info = {}
  if not isinstance(info, dict) or 'pid' not in info:
    return 'a process that has not yet said which'
  return (f"pid {info['pid']} on host {info.get('host', '?')} (a {info.get('what', 'run')} "
          f"started {info.get('since', '?')})")


def _lock_file(workdir: str, what: str) -> WorkdirLock:
  path = os.path.join(os.path.abspath(workdir), LOCK_FILE)
  while True:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = _holder(fd)
      os.close(fd)
      raise WorkdirBusy(f'{workdir} is in use by {holder}; two runs on one workdir would write '
                        f'over each other\'s checkpoints and metrics: wait for it to end, or stop '
                        f'it (a stopped or killed run frees the workdir at once)') from None
    except OSError as e:  # a filesystem without locks
      os.close(fd)
      logging.warning('cannot lock %s (%s): nothing keeps a second training off this workdir',
                      path, e.strerror or e)
      return WorkdirLock()
    try:
      same = os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
      same = False
    if same:  # not a file that the previous holder unlinked after we opened it
      break
    os.close(fd)
  since = datetime.datetime.now().astimezone().isoformat(timespec='seconds')
  record = json.dumps({'pid': os.getpid(), 'host': socket.gethostname(), 'what': what,
                       'since': since}) + '\n'
  os.ftruncate(fd, 0)
  os.pwrite(fd, record.encode(), 0)
  _HELD.add(fd)
  return WorkdirLock(path, fd)


def acquire(workdir: str, what: str = 'training') -> WorkdirLock:
  """The workdir's lock for this run (taken by process 0), or WorkdirBusy in one line on every
  process. The workdir must exist."""
  lock, problem = WorkdirLock(), ''
  if jax.process_index() == 0:
    if not paths.is_local(workdir):
      logging.warning('%s is not a local folder, where no lock can be taken: make sure that no '
                      'other training runs on it', workdir)
    else:
      try:
        lock = _lock_file(workdir, what)
      except WorkdirBusy as e:
        problem = str(e)
  if jax.process_count() > 1 and parallel.agree(int(bool(problem))) and not problem:
    raise WorkdirBusy(f'{workdir} is in use by another run (process 0 names it)')
  if problem:
    raise WorkdirBusy(problem)
  return lock
