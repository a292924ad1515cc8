"""Host-local batches in a global order fixed by (seed, step), read and prefetched by grain.

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

Grain runs the pipeline (threads, optional worker processes, prefetch) and gives the iterator a
checkpointable state; the order itself stays ours, so that checkpoints and the losses that tests
pin keep their meaning.
"""
from __future__ import annotations

import collections
import logging
import threading
from typing import Callable

import grain
import numpy as np
from absl import flags

from aedenoise.input_pipeline import images as image_io
from aedenoise.input_pipeline import preprocess
from aedenoise.input_pipeline.errors import DataError


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
  crop; a file that failed is remembered too, so it is not decoded again. A worker process gets
  a copy that starts empty: each process keeps its own cache, up to `max_bytes`."""

  def __init__(self, source, max_bytes: int):
    self.source, self.max_bytes = source, max_bytes
    self.name = getattr(source, 'name', 'source')
    self.paired = getattr(source, 'paired', False)
    self._items: collections.OrderedDict = collections.OrderedDict()
    self._bytes = 0
    self._lock = threading.Lock()

  def __getstate__(self):
    return {'source': self.source, 'max_bytes': self.max_bytes}

  def __setstate__(self, state):
    self.__init__(state['source'], state['max_bytes'])

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


# A host-only batch key: the files this batch replaced ({path: reason}). It travels with the batch
# because a worker process cannot write into the parent's dict; `TrainBatches` takes it off before
# the device put.
SKIPPED_KEY = '_skipped'
# The step dataset's length: grain's random-access datasets need one, and training never gets there.
_END = 2**62


def _batches_read(grain_state) -> int:
  """How many elements a grain iterator state has handed out: the threads' `next_index`, or the
  sum over worker processes (each reads every N-th element); -1 for a state of another shape."""
  try:
    if 'next_index' in grain_state:
      return int(grain_state['next_index'])
    return sum(int(s['next_index']) for s in grain_state['iterators_in_use_states'])
  except (TypeError, KeyError, ValueError):
    return -1


class StepBatches:
  """`batches(t)`: this process's rows of global batch `t`, a pure function of (seed, t).

  Picklable when its source is, so that grain's worker processes can take a copy."""

  def __init__(self, source, *, global_batch: int, local_batch: int, offset: int, image_size,
               fit_mode: str, resize_method: str, seed: int, patches_per_image: int):
    self.source, self.global_batch, self.local_batch, self.offset = (source, global_batch,
                                                                     local_batch, offset)
    self.size, self.fit_mode, self.resize_method = tuple(image_size), fit_mode, resize_method
    self.seed = seed
    self.epoch_length = len(source) * patches_per_image
    self.steps_per_epoch = self.epoch_length // global_batch
    self._perm: tuple[int, np.ndarray] | None = None

  def indices(self, step: int) -> tuple[int, np.ndarray]:
    """(epoch, virtual indices of this process's rows of global batch `step`)."""
    epoch, pos = divmod(int(step), self.steps_per_epoch)
    perm = self._perm  # read once: other threads may replace it with the next epoch's
    if perm is None or perm[0] != epoch:
      perm = self._perm = (epoch,
                           np.random.default_rng([self.seed, epoch]).permutation(self.epoch_length))
    start = pos * self.global_batch + self.offset
    return epoch, perm[1][start:start + self.local_batch]

  def __call__(self, step: int) -> dict:
    epoch, idx = self.indices(step)
    skipped: dict[str, str] = {}
    batch = stack([read_fitted(self.source, int(i) % len(self.source), self.size, self.fit_mode,
                               np.random.default_rng([self.seed, epoch, int(i)]),
                               self.resize_method, skipped) for i in idx])
    batch[SKIPPED_KEY] = skipped
    return batch


class TrainBatches:
  """Iterator of local batches (dicts of [B/P, ...] arrays) from `start_step` on, built on grain.

  Element t of a random-access `grain.MapDataset` is the local batch of step `origin + t`;
  `num_workers` threads decode whole batches ahead (`prefetch` of them), optionally inside
  `worker_processes` processes, and one more thread runs `put` (the device transfer) ahead of the
  step. `get_state()` is grain's iterator state plus the step it has reached; a `state` saved by an
  identical pipeline resumes through grain's `set_state`, anything else starts at `start_step`,
  which gives the same batches because the order depends only on (seed, step)."""

  def __init__(self, source, *, global_batch: int, image_size, fit_mode: str = 'crop',
               resize_method: str = 'bicubic', seed: int = 0, start_step: int = 0,
               process_index: int = 0, process_count: int = 1, num_workers: int = 2,
               prefetch: int = 2, put: Callable | None = None, patches_per_image: int = 1,
               worker_processes: int = 0, state: dict | None = None):
    if global_batch % process_count:
      raise DataError(f'batch_size {global_batch} is not divisible by {process_count} processes')
    if patches_per_image < 1:
      raise DataError(f'patches_per_image must be at least 1, got {patches_per_image}')
    local = global_batch // process_count
    self.batches = StepBatches(source, global_batch=global_batch, local_batch=local,
                               offset=process_index * local, image_size=image_size,
                               fit_mode=fit_mode, resize_method=resize_method, seed=seed,
                               patches_per_image=patches_per_image)
    self.steps_per_epoch = self.batches.steps_per_epoch
    if self.steps_per_epoch == 0:
      raise DataError(f'{getattr(source, "name", "source")} has {len(source)} images, '
                      f'fewer than one batch of {global_batch}; use a smaller batch_size or '
                      f'data.patches_per_image > 1')
    if process_count > 1:
      logging.info('data: process %d of %d reads rows %d-%d of each global batch of %d',
                   process_index, process_count, process_index * local,
                   (process_index + 1) * local - 1, global_batch)
    self.skipped: dict[str, str] = {}
    self._put = put or (lambda x: x)
    # What a saved state must have been made with to be set on this pipeline.
    self._layout = {'seed': seed, 'global_batch': global_batch, 'process_index': process_index,
                    'process_count': process_count, 'patches_per_image': patches_per_image,
                    'worker_processes': worker_processes}
    self._step = start_step
    saved = self._usable(state, start_step)
    self._origin = saved['origin'] if saved else start_step
    ds = grain.MapDataset.range(self._origin, _END).map(self.batches).to_iter_dataset(
        grain.ReadOptions(num_threads=max(1, num_workers),
                          prefetch_buffer_size=max(1, prefetch, num_workers)))
    if worker_processes:
      if not flags.FLAGS.is_parsed():  # grain reads its absl flags; notebooks and tests parse none
        flags.FLAGS.mark_as_parsed()
      ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=worker_processes))
    ds = grain.experimental.ThreadPrefetchIterDataset(ds.map(self._deliver),
                                                      prefetch_buffer_size=max(1, prefetch))
    self._it = iter(ds)
    if saved:
      self._it.set_state(saved['grain'])
    self._it.start_prefetch()  # now: the first batches get ready while the step compiles

  def _usable(self, state: dict | None, step: int) -> dict | None:
    """`state` if it was saved at `step` by a pipeline laid out like this one, else None."""
    if not state:
      return None
    agrees = (state.get('step') == step and isinstance(state.get('origin'), int)
              and all(state.get(k) == v for k, v in self._layout.items())
              and state['origin'] + _batches_read(state.get('grain')) == step)
    if not agrees:
      logging.warning('the data iterator state saved at step %s does not fit this run (%s); '
                      'starting the data at step %d', state.get('step'),
                      {k: state.get(k) for k in self._layout}, step)
      return None
    return state

  def _deliver(self, batch: dict):
    self.skipped.update(batch.pop(SKIPPED_KEY))
    return self._put(batch)

  def indices(self, step: int) -> tuple[int, np.ndarray]:
    return self.batches.indices(step)

  def get_state(self) -> dict:
    """JSON-serialisable: grain's state of the batches handed out so far, and where they end."""
    return dict(self._layout, step=self._step, origin=self._origin, grain=self._it.get_state())

  def __iter__(self):
    return self

  def __next__(self):
    batch = next(self._it)
    self._step += 1
    return batch

  def close(self):
    self._it.close()


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
    reasons = [f'{p} ({r})' for p, r in skipped.items()]
    raise DataError(f'{getattr(source, "name", "source")}: no readable image' +
                    (f'; all {len(reasons)} skipped: {image_io.first_few(reasons)}'
                     if reasons else ''))
  return stack(out)
