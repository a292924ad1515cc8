"""Evaluation on whole images of a folder (`config.eval.whole_images`), as papers score test sets.

The crop evaluation (aedenoise/evaluation/evaluate.py) stacks fixed-size crops into device batches.
Here every image of `config.data.eval = folder:DIR` keeps its size: it is degraded with the same
fixed keys as the crop evaluation (degradation row r, image i: fold_in(named_key(eval.seed, name),
i)), restored through the tiler (aedenoise/restoration/inference.py), and scored one image at a time
under `config.eval`'s convention. The rows are the crop evaluation's: the same record builder, the
same baselines (the input, or the nearest, bilinear and bicubic upscalings for a super-resolution
model; classic denoisers), the same `gain`.
"""
from __future__ import annotations

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

from aedenoise import degradations, metrics
from aedenoise import input_pipeline
from aedenoise.errors import UserError
from aedenoise.evaluation import baseline_runner, baselines, evaluate, testsets
from aedenoise.input_pipeline import images as image_io
from aedenoise.input_pipeline import sources
from aedenoise.restoration import inference
from aedenoise.runtime import paths


def folder_of(spec: str) -> str:
  path = sources.local_folder(spec)
  if path is not None:
    paths.check_local_input(path, 'data.eval')
  if path is None or not os.path.isdir(path):
    raise UserError(f'eval.whole_images needs data.eval=folder:DIR, got {spec!r}')
  return path


def run(task, variables, mesh) -> tuple[str, list[dict]]:
  """(dataset name, records) for every whole image under config.data.eval's folder."""
  config = task.config
  root = folder_of(config.data.eval)
  test = testsets.load_set(os.path.basename(root.rstrip('/')), root, int(config.data.num_eval),
                            int(config.data.channels))
  if test.skipped:
    print(f'skipped {len(test.skipped)} unreadable file(s) under {root}: '
          f'{image_io.first_few(test.skipped)}', file=sys.stderr)
  if not test.clean:
    raise UserError(f'no readable images under {root}')
  conv = metrics.Convention.from_config(config.eval)
  restorer = inference.Restorer(task, variables, mesh)
  methods = baselines.parse(config.eval.baselines)
  cache = config.eval.baseline_cache or baseline_runner.DEFAULT_CACHE
  seed, records = int(config.eval.seed), []
  for name, spec in degradations.components(task.eval_degradation).items():
    fn = jax.jit(degradations.build_single(spec))
    base = degradations.named_key(seed, name)
    inputs = [np.asarray(fn(jax.random.fold_in(base, i), jnp.asarray(c, jnp.float32) / 255.0))
              for i, c in enumerate(test.clean)]
    outputs = [np.clip(o, 0.0, 1.0) for o in restorer.restore(inputs)]
    references: dict[str, list] = {}  # the crop evaluation's baselines, image by image
    for x, c in zip(inputs, test.clean):
      for method, image in evaluate.baseline_images(x[None], (1, *c.shape)).items():
        references.setdefault(method, []).append(np.asarray(image[0]))
    rows = [evaluate.row(name, method, *testsets.score(images, test.clean, conv), len(images))
            for method, images in references.items()]
    if evaluate.INPUT in references and methods:
      rows += evaluate.classic_rows(name, inputs, test.clean, methods, evaluate.given_sigma(spec),
                                    conv, cache, int(config.eval.baseline_workers))
    ours = evaluate.row(name, task.label, *testsets.score(outputs, test.clean, conv),
                        len(outputs))
    records += rows + [evaluate.with_gain(ours, rows)]
  return input_pipeline.dataset_name(config.data.eval), records
