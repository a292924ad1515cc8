"""Standard denoising benchmarks on whole images: a model and the classic baselines, per set and
sigma (the command line is aedenoise/benchmark.py).

Convention (DnCNN's and KAIR's test scripts): the clean 8-bit image x in [0, 1], grey for BSD68 and
Set12, RGB for CBSD68, Kodak24 and McMaster; noisy = x + (sigma / 255) N(0, 1), neither clipped nor
quantised, handed as floats to the model and to every baseline; restored images are clipped and
rounded to 8 bits, then scored against x with aedenoise/metrics.py (PSNR, SSIM; no border crop).
The `noisy` row scores the unclipped float input, so its PSNR is about 20 log10(255 / sigma).
Image i's noise key is fold_in(fold_in(key(seed), crc32('<set>/<relative path>')), sigma): the same
on every run and device, whatever else is in the folder. Writes OUT/benchmark.{json,csv,md}.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import jax
import numpy as np

from aedenoise import metrics, validation
from aedenoise.errors import UserError
from aedenoise.evaluation import baseline_runner, benchmark_report, testsets
from aedenoise.input_pipeline import images as image_io
from aedenoise.restoration import channels, inference
from aedenoise.runtime import parallel, paths, progress
from aedenoise.runtime import workdir as workdir_lib

NOISY = benchmark_report.NOISY
# Beyond this the noise swamps every image: the scale's whole range.
MAX_SIGMA = 255


def parse_sets(text: str | None) -> list[tuple[str, str]]:
  pairs, problems = [], []
  for item in filter(None, (t.strip() for t in (text or '').split(','))):
    name, eq, path = item.partition('=')
    if not eq or not name.strip() or not path.strip():
      problems.append(f'--sets: {item!r} is not NAME=DIR')
    elif '://' in path:
      problems.append(f'--sets: {path.strip()}: test sets are read from the local filesystem')
    elif not os.path.isdir(path.strip()):
      problems.append(f'--sets: {path.strip()} is not a folder')
    else:
      pairs.append((name.strip(), path.strip()))
  names = [n for n, _ in pairs]
  problems += [f'--sets names {n} twice; each set needs its own name'
               for n in sorted({n for n in names if names.count(n) > 1})]
  if not pairs and not problems:
    problems.append('--sets is required, e.g. --sets=bsd68=../shared/data/bsd68')
  if problems:
    raise UserError('\n'.join(problems))
  return pairs


def parse_sigmas(text: str) -> list[int]:
  try:
    sigmas = [int(s) for s in text.split(',') if s.strip()]
  except ValueError:
    sigmas = []
  if not sigmas or any(not 0 < s <= MAX_SIGMA for s in sigmas):
    raise UserError(f'--sigma must be integers from 1 to {MAX_SIGMA} on the 0-255 scale, e.g. '
                    f'15,25,50; got {text!r}')
  return sigmas


def run_benchmark(sets: list[tuple[str, str]], sigmas: list[int], methods: list[str],
                  out_dir: str, *, limit: int = 0, workers: int = 0, cache_dir: str | None = None,
                  seed: int = 0, model=None) -> list[dict]:
  """Scores every (set, sigma) for the noisy input, `model` (a tiled restorer or None) and each
  baseline; writes OUT/benchmark.{json,csv,md} and OUT/benchmark_images.csv (aedenoise/
  benchmark_report.py) and returns the records."""
  cache_dir = cache_dir or str(paths.path(out_dir) / 'cache')
  tests = [testsets.load_set(name, root, limit) for name, root in sets]
  for t in tests:
    if t.skipped:
      print(f'skipped {len(t.skipped)} unreadable file(s) of {t.name}: '
            f'{image_io.first_few(t.skipped)}', file=sys.stderr)
    for note in t.notes():
      print(f'note: {note}', file=sys.stderr)
  empty = [t.name for t in tests if not t.clean]
  if empty:
    raise UserError(f'no readable images in set(s) {", ".join(empty)}')
  noisy = {(t.name, s): [testsets.add_noise(c, testsets.noise_key(seed, t.name, r, s), s)
                         for r, c in zip(t.names, t.clean)] for t in tests for s in sigmas}
  jobs, where = [], []
  for t in tests:
    for s in sigmas:
      for m in methods:
        for i, z in enumerate(noisy[(t.name, s)]):
          jobs.append(baseline_runner.Job(m, z, s / 255.0))
          where.append((t.name, s, m, i))
  model_images = sum(len(t.clean) for t in tests) * len(sigmas) if model is not None else 0
  bar = progress.Progress(len(jobs) + model_images, 'benchmark')
  quantised, raw = metrics.Convention(quantize=True), metrics.Convention(clip=False)
  restored: dict = {}
  seconds: dict = {}
  for t in tests:
    for s in sigmas:
      if model is None:
        continue
      start = time.perf_counter()
      outs = model(noisy[(t.name, s)], t)
      seconds[(t.name, s, model.name)] = time.perf_counter() - start
      if outs is not None:
        restored[(t.name, s, model.name)] = outs
      bar.update(len(t.clean))
  results = baseline_runner.run(jobs, cache_dir, workers, progress=bar.update)
  bar.close()
  cached: dict = {}
  for (name, s, m, i), r in zip(where, results):
    restored.setdefault((name, s, m), [None] * len(noisy[(name, s)]))[i] = r.image
    seconds[(name, s, m)] = seconds.get((name, s, m), 0.0) + r.seconds
    cached[(name, s, m)] = cached.get((name, s, m), 0) + r.cached
  records, images = [], []

  def scored(t, s, m, outputs, conv, extra):
    each = testsets.score_each(outputs, t.clean, conv)
    images.extend({'set': t.name, 'sigma': s, 'method': m, 'image': name, 'psnr': p, 'ssim': q}
                  for name, (p, q) in zip(t.names, each))
    records.append({'set': t.name, 'sigma': s, 'method': m,
                    'psnr': float(np.mean([p for p, _ in each])),
                    'ssim': float(np.mean([q for _, q in each])), 'images': len(t.clean),
                    **extra})

  for t in tests:
    for s in sigmas:
      scored(t, s, NOISY, noisy[(t.name, s)], raw, {})
      names = ([model.name] if model is not None else []) + methods
      for m in names:
        if (t.name, s, m) in restored:
          scored(t, s, m, restored[(t.name, s, m)], quantised,
                 {'seconds': round(seconds[(t.name, s, m)], 2),
                  'cached': cached.get((t.name, s, m))})
  records = benchmark_report.with_published(records)
  provenance = model.provenance if model is not None else None
  benchmark_report.write(out_dir, records, images, benchmark_report.footer(seed, provenance),
                         provenance)
  return records


class ModelRows:
  """A trained model as a benchmark method: noisy float images -> restored, through tiles."""

  def __init__(self, config, workdir: str, tile: int = 0, overlap: int = -1,
               max_memory_mb: int = 0):
    task = validation.validate(config)
    mesh = parallel.create_mesh()
    loaded = inference.load_model(task, workdir, mesh)
    self.step = loaded.step
    self.restorer = inference.Restorer(task, loaded.variables, mesh, tile, overlap,
                                       max_memory_mb=max_memory_mb)
    self.name = workdir_lib.display_name(workdir)
    parameters = sum(x.size for x in jax.tree.leaves(loaded.variables['params']))
    self.provenance = {
        'name': self.name, 'model': task.label, 'parameters': f'{parameters:,}',
        'workdir': workdir,
        'checkpoint step': loaded.step,
        'training degradation': json.dumps(task.degradation, sort_keys=True),
        'config sha256': hashlib.sha256(workdir_lib.config_json(config).encode()).hexdigest()[:16]}

  def __call__(self, noisy: list, test: testsets.TestSet):
    """Restored images; a set of other channels than the model's goes through
    aedenoise/restoration/channels.py (a grey model restores colour channel by channel), said once."""
    note = channels.describe(noisy[0].shape[-1], self.restorer.geometry.channels)
    if note:
      print(f'{test.name}: {note}', file=sys.stderr)
    return channels.adapt(self.restorer.restore_iter, noisy, self.restorer.geometry.channels)
