"""Host-local batches in a global order fixed by (seed, step), decoded by a thread pool.

A batch is a dict of stacked example entries: `'target'` uint8 [B, H, W, C], plus `'input'` (an
image from disk: a real noisy partner, or a smaller low-resolution one) and `'label'` when the
source has them.

Global order: epoch e visits the source in the permutation `default_rng([seed, e])`; global batch t
is the slice [t*B, (t+1)*B) of that epoch's permutation (the remainder of an epoch is dropped);
process p of P takes rows [p*B/P, (p+1)*B/P) of it. So any process can start at any step, which is
how resuming continues the data order exactly, and the processes together read each global batch
exactly once. Crops are random per (seed, epoch, index). With `patches_per_image` K > 1 an epoch
visits every image K times (virtual index v reads image v mod N with its own crop), so a few large
images yield many training patches, as DnCNN-style training on Train400 does.

A file that fails to decode is replaced by the next readable image of a fixed probe sequence and
counted; `skipped` holds the paths, for the training log.
"""
from __future__ import annotations

import collections
import concurrent.futures
import logging
import queue
import threading
from typing import Callable

import numpy as np

from input_pipeline import images as image_io
from input_pipeline import preprocess


class DataError(ValueError):
  """The data cannot feed training (too few usable images, nothing decodable)."""


def nbytes(example: dict) -> int:
  return sum(np.asarray(v).nbytes for v in example.values())


def stack(examples: list[dict]) -> dict[str, np.ndarray]:
  return {k: np.stack([e[k] for e in examples]) for k in examples[0]}


def read_fitted(source, index: int, size, fit_mode: str, rng, method: str, skipped: dict,
                max_probes: int = 64) -> dict:
  """source[index] fitted to `size`; unreadable files are recorded and probed past."""
  n = len(source)
  for probe in range(max_probes):
    i = (index + probe * 7919) % n  # 7919 is prime: the probes spread over the source
    try:
      example = source[i]
    except image_io.ImageReadError as e:
      skipped[e.path] = e.reason
      continue
    return preprocess.fit_example(example, size, fit_mode, rng, method)
  raise DataError(f'{max_probes} unreadable images in a row near index {index}; '
                  f'first failures: {list(skipped.values())[:3]}')


class CachedSource:
  """`source` with its decoded images (before cropping) kept up to `max_bytes`, least recently used
  evicted first. Small sets, and many patches per image, are then decoded once rather than once per
  crop; a file that failed is remembered too, so it is not decoded again."""

  def __init__(self, source, max_bytes: int):
    self.source, self.max_bytes = source, max_bytes
    self.name = getattr(source, 'name', 'source')
    self.paired = getattr(source, 'paired', False)
    self._items: collections.OrderedDict = collections.OrderedDict()
    self._bytes = 0
    self._lock = threading.Lock()

  def __len__(self):
    return len(self.source)

  def __getitem__(self, index):
    with self._lock:
      item = self._items.get(index)
      if item is not None:
        self._items.move_to_end(index)
    if item is None:
      try:
        item = self.source[index]
      except image_io.ImageReadError as e:
        item = e
      size = nbytes(item) if isinstance(item, dict) else 64
      with self._lock:
        if index not in self._items and size <= self.max_bytes:
          self._items[index] = item
          self._bytes += size
          while self._bytes > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self._bytes -= nbytes(old) if isinstance(old, dict) else 64
    if isinstance(item, image_io.ImageReadError):
      raise item
    return item


class TrainBatches:
  """Iterator of local batches (dicts of [B/P, ...] arrays) from `start_step` on, prefetched in a
  thread; `put` turns each into what the step takes (global device arrays)."""

  def __init__(self, source, *, global_batch: int, image_size, fit_mode: str = 'crop',
               resize_method: str = 'bicubic', seed: int = 0, start_step: int = 0,
               process_index: int = 0, process_count: int = 1, num_workers: int = 2,
               prefetch: int = 2, put: Callable | None = None, patches_per_image: int = 1):
    if global_batch % process_count:
      raise DataError(f'batch_size {global_batch} is not divisible by {process_count} processes')
    if patches_per_image < 1:
      raise DataError(f'patches_per_image must be at least 1, got {patches_per_image}')
    self.epoch_length = len(source) * patches_per_image
    self.steps_per_epoch = self.epoch_length // global_batch
    if self.steps_per_epoch == 0:
      raise DataError(f'{getattr(source, "name", "source")} has {len(source)} images, '
                      f'fewer than one batch of {global_batch}; use a smaller batch_size or '
                      f'data.patches_per_image > 1')
    self.source = source
    self.global_batch = global_batch
    self.local_batch = global_batch // process_count
    self.offset = process_index * self.local_batch
    self.size = tuple(image_size)
    self.fit_mode, self.resize_method, self.seed = fit_mode, resize_method, seed
    self.skipped: dict[str, str] = {}
    self._perm_cache: tuple[int, np.ndarray] | None = None
    self._step = start_step
    self._put = put or (lambda x: x)
    if process_count > 1:
      logging.info('data: process %d of %d reads rows %d-%d of each global batch of %d',
                   process_index, process_count, self.offset, self.offset + self.local_batch - 1,
                   global_batch)
    self._pool = concurrent.futures.ThreadPoolExecutor(max(1, num_workers))
    self._queue: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._produce, daemon=True)
    self._thread.start()

  def indices(self, step: int) -> tuple[int, np.ndarray]:
    """(epoch, virtual indices of this process's rows of global batch `step`)."""
    epoch, pos = divmod(step, self.steps_per_epoch)
    if self._perm_cache is None or self._perm_cache[0] != epoch:
      self._perm_cache = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.epoch_length))
    start = pos * self.global_batch + self.offset
    return epoch, self._perm_cache[1][start:start + self.local_batch]

  def _example(self, epoch: int, index: int) -> dict:
    rng = np.random.default_rng([self.seed, epoch, int(index)])
    return read_fitted(self.source, int(index) % len(self.source), self.size, self.fit_mode, rng,
                       self.resize_method, self.skipped)

  def _produce(self):
    step = self._step
    while not self._stop.is_set():
      try:
        epoch, idx = self.indices(step)
        batch = stack(list(self._pool.map(lambda i: self._example(epoch, i), idx)))
        item = self._put(batch)
      except BaseException as e:  # pylint: disable=broad-except
        item = e
      while not self._stop.is_set():
        try:
          self._queue.put(item, timeout=0.1)
          break
        except queue.Full:
          continue
      if isinstance(item, BaseException):
        return
      step += 1

  def __iter__(self):
    return self

  def __next__(self):
    item = self._queue.get()
    if isinstance(item, BaseException):
      raise item
    return item

  def close(self):
    self._stop.set()
    self._thread.join(timeout=5)
    self._pool.shutdown(wait=False, cancel_futures=True)


def load_examples(source, size, fit_mode: str = 'crop', resize_method: str = 'bicubic',
                  limit: int = 0, skipped: dict | None = None) -> dict[str, np.ndarray]:
  """The first `limit` (0 = all) readable examples of `source`, centre-fitted and stacked:
  {'target': [N, H, W, C] uint8, ...}."""
  skipped = {} if skipped is None else skipped
  out = []
  for i in range(len(source)):
    try:
      example = source[i]
    except image_io.ImageReadError as e:
      skipped[e.path] = e.reason
      continue
    out.append(preprocess.fit_example(example, size, fit_mode, None, resize_method))
    if limit and len(out) == limit:
      break
  if not out:
    raise DataError(f'{getattr(source, "name", "source")}: no readable image')
  return stack(out)
