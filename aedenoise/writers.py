"""Where metrics go: `workdir/metrics.jsonl` (one JSON object per line), TensorBoard event files in
`workdir/tensorboard`, and a progress line on the log. Only process 0 writes."""
from __future__ import annotations

import json
import math
import os
import time

from absl import logging


def read_jsonl(path: str) -> list[dict]:
  if not os.path.exists(path):
    return []
  records = []
  with open(path) as f:
    for line in f:
      try:
        records.append(json.loads(line))
      except json.JSONDecodeError:  # the half-written last line of a killed run
        continue
  return records


class MetricWriter:
  """Appends {'step', 'kind', ...scalars} records; `truncate_after(step)` on resume drops the lines
  a killed run wrote after its last checkpoint, so the file reads as one uninterrupted run."""

  def __init__(self, workdir: str, enabled: bool = True):
    self.enabled = enabled
    self.path = os.path.join(workdir, 'metrics.jsonl')
    self._tb = None
    if enabled:
      os.makedirs(workdir, exist_ok=True)
      from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
      self._tb = SummaryWriter(os.path.join(workdir, 'tensorboard'))

  def truncate_after(self, step: int) -> None:
    if not self.enabled:
      return
    kept = [r for r in read_jsonl(self.path) if r['step'] <= step]
    with open(self.path, 'w') as f:
      f.writelines(json.dumps(r) + '\n' for r in kept)

  def write(self, step: int, kind: str, scalars: dict) -> None:
    if not self.enabled:
      return
    record = {'step': int(step), 'kind': kind}
    record.update({k: (float(v) if isinstance(v, (int, float)) or hasattr(v, 'item') else v)
                   for k, v in scalars.items()})
    with open(self.path, 'a') as f:
      f.write(json.dumps(record) + '\n')
    for k, v in scalars.items():
      if isinstance(v, (int, float)) or hasattr(v, 'item'):
        self._tb.add_scalar(f'{kind}/{k}', float(v), int(step))
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
  """Steps/s and ETA between log points, measured on the host clock."""

  def __init__(self, start_step: int, total_steps: int, batch_size: int):
    self.total, self.batch = total_steps, batch_size
    self._t, self._step = time.perf_counter(), start_step

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
