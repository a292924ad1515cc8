"""Output paths: workdirs and output folders are `etils.epath` paths, so `--workdir=gs://bucket/run`
(where TPU-pod runs keep theirs) is written to the bucket, as Orbax writes its checkpoints, instead
of into a local folder named `gs:`.

Everything a run writes goes through here, whole or not at all (`atomic_file`: a temporary file
beside the target, renamed over it), or through Orbax. Input images are read from the local
filesystem (PIL, os.walk), which `check_local_input` says in one line.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile

from etils import epath

from aedenoise.errors import UserError, first_line

SCHEMES = ('gs', 's3', 'az', 'hf')  # those epath knows; any other `x://` is refused


def scheme(path) -> str:
  """'gs' for gs://bucket/run, '' for a local path."""
  head, sep, _ = os.fspath(path).partition('://')
  return head if sep else ''


def is_local(path) -> bool:
  return not scheme(path)


def check_reachable(value, flag: str) -> None:
  """UserError in one line when `value` is a URL this machine cannot reach (no network, no
  client for its scheme, no credentials), found before any work; local paths pass."""
  if not value or is_local(value):
    return
  try:
    path(value).exists()
  except UserError:
    raise
  except Exception as e:  # pylint: disable=broad-except  (each file system raises its own)
    raise UserError(f'{flag} {value}: cannot reach it ({first_line(e)})') from None


def path(value) -> epath.Path:
  """`value` as an epath.Path; a scheme epath does not know is one UserError, not a local folder
  named after it."""
  if scheme(value) and scheme(value) not in SCHEMES:
    raise UserError(f'{value}: unsupported scheme {scheme(value)}:// (supported: local paths and '
                    f'{", ".join(s + "://" for s in SCHEMES)})')
  return epath.Path(value)


def absolute(value) -> epath.Path:
  """Local paths made absolute (Orbax wants that); URLs as they are: epath's `resolve()` would
  turn gs://bucket into <cwd>/gs:/bucket."""
  return path(os.path.abspath(value) if is_local(value) else value)


def check_local_input(value, flag: str) -> None:
  if not is_local(value):
    raise UserError(f'{flag} {value}: inputs are read from the local filesystem; copy them to a '
                    f'local folder first (outputs, --output and --workdir, may be {scheme(value)}://)')


# Temporary files are named after their target and the writing process, beside the target, so
# that a rerun can tell its own leftovers (from a process that is gone) from another run's.
_TEMPORARY = re.compile(r'^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$')


@contextlib.contextmanager
def atomic_file(target):
  """A binary file object whose contents replace `target` only when the block ends without an
  error, so no reader, and no process killed midway, ever sees half a file. Locally it is a
  temporary file beside the target, flushed to disk and renamed over it; at a URL the bytes are
  uploaded in one request at the end, which an object store applies all-or-nothing (a rename
  there is a copy)."""
  target = path(target)
  if not is_local(target):
    buffer = io.BytesIO()
    yield buffer
    target.write_bytes(buffer.getvalue())
    return
  folder = os.path.dirname(os.path.abspath(target))
  try:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{target.name}.{os.getpid()}.', suffix='.tmp')
  except OSError as e:  # named after the target, not the temporary file
    raise OSError(e.errno, e.strerror, os.fspath(target)) from None
  try:
    with os.fdopen(fd, 'wb') as f:
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; a plain open() would not
    os.replace(tmp, target)
  except BaseException as e:
    with contextlib.suppress(OSError):
      os.unlink(tmp)
    if isinstance(e, OSError) and e.errno is not None:
      raise OSError(e.errno, e.strerror, os.fspath(target)) from None
    raise


def _read_umask() -> int:
  mask = os.umask(0)  # the only way to read it is to set it: done once, at import
  os.umask(mask)
  return mask


_UMASK = _read_umask()


def write_bytes(target, data: bytes) -> None:
  """`data` into `target`, all or nothing (`atomic_file`)."""
  with atomic_file(target) as f:
    f.write(data)


def write_text(target, text: str) -> None:
  """`text` (UTF-8) into `target`, all or nothing (`atomic_file`)."""
  write_bytes(target, text.encode('utf-8'))


def remove_stale_temporaries(folder, names) -> int:
  """Deletes the temporary files that processes no longer running left in local `folder` while
  writing one of `names` (a run killed midway); returns how many. Another live process's are
  kept. At a URL there are none: uploads are whole."""
  if not is_local(folder) or not os.path.isdir(folder):
    return 0
  names, removed = set(names), 0
  for entry in os.scandir(folder):
    found = _TEMPORARY.match(entry.name)
    if found and found['name'] in names and not _running(int(found['pid'])):
      with contextlib.suppress(OSError):
        os.unlink(entry.path)
        removed += 1
  return removed


def _running(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # another user's process
    return True
  return True


def csv_text(rows, fieldnames, **options) -> str:
  """CSV as a string: epath's `open` takes no `newline=''`, so csv writes into memory first."""
  import csv  # pylint: disable=g-import-not-at-top
  buffer = io.StringIO(newline='')
  writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), **options)
  writer.writeheader()
  writer.writerows(rows)
  return buffer.getvalue()


def save_figure(fig, target, dpi: int) -> None:
  """A matplotlib figure as PNG at any epath, all or nothing (savefig takes a file object)."""
  with atomic_file(target) as f:
    fig.savefig(f, format='png', dpi=dpi)
