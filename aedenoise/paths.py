"""Output paths: workdirs and output folders are `etils.epath` paths, so `--workdir=gs://bucket/run`
(where TPU-pod runs keep theirs) is written to the bucket, as Orbax writes its checkpoints, instead
of into a local folder named `gs:`.

Everything a run writes goes through here or through `epath.Path` directly. Input images are still
read from the local filesystem (PIL, os.walk), which `check_local_input` says in one line.
"""
from __future__ import annotations

import io
import os
import uuid

from etils import epath

from aedenoise.errors import UserError

SCHEMES = ('gs', 's3', 'az', 'hf')  # those epath knows; any other `x://` is refused


def scheme(path) -> str:
  """'gs' for gs://bucket/run, '' for a local path."""
  head, sep, _ = os.fspath(path).partition('://')
  return head if sep else ''


def is_local(path) -> bool:
  return not scheme(path)


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


def write_text(target, text: str) -> None:
  """`text` into `target`, never leaving half a file (`write_bytes`)."""
  write_bytes(target, text.encode())


def write_bytes(target, data: bytes) -> None:
  """`data` into `target`, never leaving half a file: locally through a temporary file and a
  rename; on an object store in one upload, which is all-or-nothing (a rename there is a copy)."""
  target = path(target)
  if not is_local(target):
    target.write_bytes(data)
    return
  tmp = target.parent / f'.tmp-{uuid.uuid4().hex}-{target.name}'
  try:
    tmp.write_bytes(data)
    tmp.replace(target)
  finally:
    tmp.unlink(missing_ok=True)


def csv_text(rows, fieldnames, **options) -> str:
  """CSV as a string: epath's `open` takes no `newline=''`, so csv writes into memory first."""
  import csv  # pylint: disable=g-import-not-at-top
  buffer = io.StringIO(newline='')
  writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), **options)
  writer.writeheader()
  writer.writerows(rows)
  return buffer.getvalue()


def save_figure(fig, target, dpi: int) -> None:
  """A matplotlib figure as PNG at any epath (savefig takes a file object)."""
  with path(target).open('wb') as f:
    fig.savefig(f, format='png', dpi=dpi)
