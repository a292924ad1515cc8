"""Evaluation on whole images of a folder (`config.eval.whole_images`), as papers score test sets.

The crop evaluation (aedenoise/evaluate.py) stacks fixed-size crops into device batches. Here every
image of `config.data.eval = folder:DIR` keeps its size: it is degraded with the same fixed keys as
the crop evaluation (degradation row r, image i: fold_in(named_key(eval.seed, name), i)),
restored through the tiler (aedenoise/inference.py), and scored one image at a time under
`config.eval`'s convention. Records have the crop evaluation's long format, so tables, TensorBoard
scalars and classic-baseline rows work unchanged.
"""
from __future__ import annotations

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np

import input_pipeline
from aedenoise import (baseline_runner, baselines, build, degradations, evaluate, inference,
                       metrics, paths, testsets)
from aedenoise.errors import UserError
from input_pipeline import images as image_io
from input_pipeline import sources


def folder_of(spec: str) -> str:
  path = sources.local_folder(spec)
  if path is not None:
    paths.check_local_input(path, 'data.eval')
  if path is None or not os.path.isdir(path):
    raise UserError(f'eval.whole_images needs data.eval=folder:DIR, got {spec!r}')
  return path


def run(model, variables, config, mesh) -> tuple[str, list[dict]]:
  """(dataset name, records) for every whole image under config.data.eval's folder."""
  root = folder_of(config.data.eval)
  test = testsets.load_set(os.path.basename(root.rstrip('/')), root, int(config.data.num_eval),
                            int(config.data.channels))
  if test.skipped:
    print(f'skipped {len(test.skipped)} unreadable file(s) under {root}: '
          f'{image_io.first_few(test.skipped)}', file=sys.stderr)
  if not test.clean:
    raise UserError(f'no readable images under {root}')
  conv = metrics.Convention.from_config(config.eval)
  restorer = inference.Restorer(model, variables, config, mesh)
  methods = baselines.parse(config.eval.get('baselines', ''))
  cache = config.eval.get('baseline_cache', '') or baseline_runner.DEFAULT_CACHE
  seed, records = int(config.eval.seed), []
  for name, spec in degradations.components(build.eval_degradation(config)).items():
    fn = jax.jit(degradations.build_single(spec))
    base = degradations.named_key(seed, name)
    inputs = [np.asarray(fn(jax.random.fold_in(base, i), jnp.asarray(c, jnp.float32) / 255.0))
              for i, c in enumerate(test.clean)]
    outputs = [np.clip(o, 0.0, 1.0) for o in restorer.restore(inputs)]
    rows = []
    if inputs[0].shape == test.clean[0].shape:
      rows.append(_row(name, evaluate.INPUT, inputs, test.clean, conv))
      sigma = evaluate.given_sigma(spec)
      for m in methods:
        jobs = [baseline_runner.Job(m, x, sigma) for x in inputs]
        done = baseline_runner.run(jobs, cache, int(config.eval.get('baseline_workers', 0)))
        rows.append(_row(name, baselines.method_label(m, sigma is None),
                         [r.image for r in done], test.clean, conv))
    else:
      up = [np.asarray(jax.image.resize(x, c.shape, 'cubic')) for x, c in zip(inputs, test.clean)]
      rows.append(_row(name, 'bicubic', up, test.clean, conv))
    ours = _row(name, build.model_label(config), outputs, test.clean, conv)
    ours['gain'] = ours['psnr'] - rows[0]['psnr']
    records += rows + [ours]
  return input_pipeline.dataset_name(config.data.eval), records


def _row(name: str, method: str, images: list, clean: list, conv) -> dict:
  psnr, ssim = testsets.score(images, clean, conv)
  return {'degradation': name, 'method': method, 'psnr': psnr, 'ssim': ssim,
          'images': len(images)}
