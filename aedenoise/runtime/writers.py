"""Where metrics go: `workdir/metrics.jsonl` (one JSON object per line), TensorBoard event files in
`workdir/tensorboard`, and a progress line on the log. Only process 0 writes.

The workdir may be a URL (gs://bucket/run): both files go through epath. tensorboardX writes local
files with `open()` and reaches gs:// and s3:// only through google-cloud-storage or boto3, which
this project does not install (and any other scheme it would write into a local `gs:` folder), so
a URL workdir gets `EpathEventFiles` registered for its scheme instead (tensorboardX's own hook).
"""
from __future__ import annotations

import io
import json
import math
import time

from absl import logging

from aedenoise.runtime import paths


def read_jsonl(path) -> list[dict]:
  path = paths.path(path)
  if not path.exists():
    return []
  records = []
  for line in path.read_bytes().decode('utf-8', errors='replace').splitlines():
    try:
      record = json.loads(line)
    except json.JSONDecodeError:  # the half-written last line of a killed run
      continue
    if isinstance(record, dict):  # anything else is no log record
      records.append(record)
  return records


class EpathEventFile:
  """One TensorBoard event file at a URL. Object stores cannot append, so the file is kept in
  memory and uploaded whole at each flush, as tensorboardX's own gs:// writer does; scalars-only
  event files stay small."""

  def __init__(self, path: str):
    self.path = paths.path(path)
    self.buffer = io.BytesIO()
    self._uploaded = -1  # bytes in the last upload; -1: none yet, so even an empty file appears

  def write(self, data: bytes) -> None:
    self.buffer.write(data)

  def flush(self) -> None:
    data = self.buffer.getvalue()
    if len(data) != self._uploaded:  # tensorboardX flushes on a timer and again on close
      self.path.write_bytes(data)
      self._uploaded = len(data)

  def close(self) -> None:
    self.flush()


class EpathEventFiles:
  """tensorboardX's writer factory interface (record_writer.register_writer_factory)."""

  def open(self, path: str) -> EpathEventFile:
    return EpathEventFile(path)

  def directory_check(self, path: str) -> None:
    paths.path(path).mkdir(parents=True, exist_ok=True)


class MetricWriter:
  """Appends {'step', 'kind', ...scalars} records; `truncate_after(step)` on resume drops the lines
  a killed run wrote after its last checkpoint, so the file reads as one uninterrupted run."""

  def __init__(self, workdir: str, enabled: bool = True):
    self.enabled = enabled
    self.path = paths.path(workdir) / 'metrics.jsonl'
    # Locally every write is flushed; at a URL each flush uploads the whole event file again, so
    # there tensorboardX's own timer (flush_secs) and close() flush it.
    self._flush_each_write = paths.is_local(workdir)
    self._tb = None
    if enabled:
      paths.path(workdir).mkdir(parents=True, exist_ok=True)
      from tensorboardX import SummaryWriter, record_writer  # pylint: disable=g-import-not-at-top
      if not paths.is_local(workdir):
        record_writer.register_writer_factory(paths.scheme(workdir), EpathEventFiles())
      self._tb = SummaryWriter(str(paths.path(workdir) / 'tensorboard'))

  def truncate_after(self, step: int) -> None:
    if not self.enabled:
      return
    kept = [r for r in read_jsonl(self.path) if r['step'] <= step]
    paths.write_text(self.path, ''.join(json.dumps(r) + '\n' for r in kept))  # all or nothing

  def write(self, step: int, kind: str, scalars: dict) -> None:
    if not self.enabled:
      return
    record = {'step': int(step), 'kind': kind}
    record.update({k: (float(v) if isinstance(v, (int, float)) or hasattr(v, 'item') else v)
                   for k, v in scalars.items()})
    with self.path.open('a') as f:
      f.write(json.dumps(record) + '\n')
    for k, v in scalars.items():
      if isinstance(v, (int, float)) or hasattr(v, 'item'):
        if math.isfinite(float(v)):  # an interval of skipped non-finite steps has no mean
          self._tb.add_scalar(f'{kind}/{k}', float(v), int(step))
    if self._flush_each_write:
      self._tb.flush()

  def close(self) -> None:
    if self._tb is not None:
      self._tb.close()


def _duration(seconds: float) -> str:
  if not math.isfinite(seconds):
    return '?'
  seconds = int(seconds)
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f'{h}h{m:02d}m' if h else f'{m}m{s:02d}s'


class Progress:
  """Steps/s and ETA between log points, measured on the host clock; `compiled(step)` restarts the
  clock once the first step has compiled, so that the first rate and ETA leave compilation out."""

  def __init__(self, start_step: int, total_steps: int, batch_size: int):
    self.total, self.batch = total_steps, batch_size
    self._t, self._step = time.perf_counter(), start_step

  def compiled(self, step: int) -> None:
    self._t, self._step = time.perf_counter(), step

  def rates(self, step: int) -> dict:
    now = time.perf_counter()
    steps_per_sec = (step - self._step) / max(now - self._t, 1e-9)
    self._t, self._step = now, step
    return {'steps_per_sec': steps_per_sec, 'images_per_sec': steps_per_sec * self.batch}

  def line(self, step: int, scalars: dict) -> str:
    eta = (self.total - step) / scalars['steps_per_sec'] if scalars['steps_per_sec'] > 0 else math.inf
    return (f"step {step}/{self.total} | loss {scalars['loss']:.5f} | psnr {scalars['psnr']:.2f} dB"
            f" | ssim {scalars['ssim']:.4f} | {scalars['steps_per_sec']:.2f} steps/s"
            f" ({scalars['images_per_sec']:.1f} img/s) | ETA {_duration(eta)}")


def log_progress(line: str) -> None:
  logging.info('%s', line)
