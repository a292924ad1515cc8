"""Progress of a long loop over images: a live bar on a terminal, and a plain line every so often
(and at the end) when stderr is a file or a pipe, where a bar's carriage returns would pile up
into one unreadable line."""
from __future__ import annotations

import sys
import time

import tqdm

# Seconds between two lines when stderr is not a terminal.
LINE_INTERVAL = 30.0


class Progress:
  """`with Progress(total, 'restore') as bar: ... bar.update(k)`; `bar.n` is the count so far."""

  def __init__(self, total: int, desc: str, unit: str = 'img', stream=None):
    self.stream = stream or sys.stderr
    self.total, self.desc, self.unit, self.n = int(total), desc, unit, 0
    interactive = getattr(self.stream, 'isatty', lambda: False)()
    self._bar = (tqdm.tqdm(total=total, unit=unit, desc=desc, file=self.stream)
                 if interactive else None)
    self._started = self._last = time.monotonic()

  def update(self, k: int = 1) -> None:
    self.n += k
    if self._bar is not None:
      self._bar.update(k)
    elif k and time.monotonic() - self._last >= LINE_INTERVAL:
      self._line()

  def _line(self) -> None:
    self._last = time.monotonic()
    took = self._last - self._started
    rate = self.n / took if took > 0 else 0.0
    left = (self.total - self.n) / rate if rate > 0 else None
    eta = f', about {left:.0f} s left' if left is not None and self.n < self.total else ''
    print(f'{self.desc}: {self.n}/{self.total} {self.unit} in {took:.0f} s{eta}',
          file=self.stream, flush=True)

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
    elif self.n:
      self._line()

  def __enter__(self) -> Progress:
    return self

  def __exit__(self, *exc) -> None:
    self.close()
