"""Input pipelines: sources named in `config.data`, host-side decode/crop, uint8 batches.

Data flows one way: files (or a generator) -> host uint8 batch -> device. Degradations, float
conversion and everything else happen on the device inside the jitted step.
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np

from aedenoise.input_pipeline.errors import DataError, SourceError
from aedenoise.input_pipeline.folders import describe_skipped
from aedenoise.input_pipeline.loader import CachedSource, TrainBatches, load_examples
from aedenoise.input_pipeline.sources import dataset_name, kind_of, open_source


# The evaluation row of a paired source: its own degraded inputs replace the synthetic degradations.


@dataclasses.dataclass
class EvalSet:
  name: str            # used for output file names: eval/<name>.json
  targets: np.ndarray  # [N, H, W, C] uint8 clean images
  skipped: dict        # path -> reason, for files that could not be decoded
  inputs: np.ndarray | None = None  # [N, h, w, C] uint8 degraded partners from disk (pairs)

  def __len__(self):
    return len(self.targets)


def is_paired(spec: str) -> bool:
  """Whether examples of `spec` carry their own degraded `'input'` (pairs read from disk)."""
  return kind_of(spec).paired


def create_train_iterator(config, *, start_step: int, put=None, process_index: int = 0,
                          process_count: int = 1, seed: int | None = None,
                          state: dict | None = None) -> TrainBatches:
  """The training batches from `start_step` on, in the order of `seed` (default config.seed);
  `state` is a saved `get_state()` (a checkpoint's)."""
  data = config.data
  source = open_source(data.train, data, data.train_split)
  if data.cache_mb and not kind_of(data.train).generated:
    source = CachedSource(source, int(data.cache_mb * 2**20))
  return TrainBatches(source, global_batch=config.batch_size, image_size=data.image_size,
                      fit_mode=data.fit, resize_method=data.resize_method,
                      seed=config.seed if seed is None else seed,
                      start_step=start_step, process_index=process_index,
                      process_count=process_count, num_workers=data.num_workers,
                      prefetch=data.prefetch, put=put,
                      patches_per_image=int(data.patches_per_image),
                      worker_processes=int(data.worker_processes), state=state)


def load_eval_set(config, spec: str | None = None) -> EvalSet:
  data = config.data
  spec = spec or data.eval
  source = open_source(spec, data, data.eval_split)
  skipped: dict = {}
  # A fully convolutional model may train on small crops and be scored on large ones.
  size = tuple(data.eval_image_size or data.image_size)
  examples = load_examples(source, size, data.fit, data.resize_method,
                           limit=data.num_eval, skipped=skipped)
  if skipped:
    logging.warning('%s: skipped %d unreadable image(s) when loading the evaluation set: %s', spec,
                    len(skipped), describe_skipped(skipped))
  return EvalSet(dataset_name(spec), examples['target'], skipped, examples.get('input'))


__all__ = ['DataError', 'SourceError', 'EvalSet', 'TrainBatches',
           'create_train_iterator', 'load_eval_set', 'load_examples', 'dataset_name', 'is_paired']
