"""Input pipelines: sources named in `config.data`, host-side decode/crop, uint8 batches.

Data flows one way: files (or a generator) -> host uint8 batch -> device. Degradations, float
conversion and everything else happen on the device inside the jitted step.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from input_pipeline.loader import DataError, TrainBatches, load_images
from input_pipeline.sources import SourceError, open_source


@dataclasses.dataclass
class EvalSet:
  name: str            # used for output file names: eval/<name>.json
  images: np.ndarray   # [N, H, W, C] uint8 clean images
  skipped: dict        # path -> reason, for files that could not be decoded


def dataset_name(spec: str) -> str:
  kind, _, arg = spec.partition(':')
  base = arg.rstrip('/').split('/')[-1] if kind == 'folder' else arg
  return ''.join(c if c.isalnum() or c in '-_' else '_' for c in f'{kind}_{base}')


def create_train_iterator(config, *, start_step: int, put=None, process_index: int = 0,
                          process_count: int = 1) -> TrainBatches:
  data = config.data
  source = open_source(data.train, data, data.train_split)
  return TrainBatches(source, global_batch=config.batch_size, image_size=data.image_size,
                      fit_mode=data.fit, resize_method=data.resize_method, seed=config.seed,
                      start_step=start_step, process_index=process_index,
                      process_count=process_count, num_workers=data.num_workers,
                      prefetch=data.prefetch, put=put)


def load_eval_set(config, spec: str | None = None) -> EvalSet:
  data = config.data
  spec = spec or data.eval
  source = open_source(spec, data, data.eval_split)
  skipped: dict = {}
  images = load_images(source, data.image_size, data.fit, data.resize_method,
                       limit=data.num_eval, skipped=skipped)
  return EvalSet(dataset_name(spec), images, skipped)


__all__ = ['DataError', 'SourceError', 'EvalSet', 'TrainBatches', 'create_train_iterator',
           'load_eval_set', 'dataset_name']
