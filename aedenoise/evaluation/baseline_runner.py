"""Runs classic baselines over many images: a process pool, and a disk cache of every result.

BM3D and non-local means are CPU-bound and single-threaded, so images are spread over processes.
Each result is cached under `cache_dir` keyed by a hash of the noisy image's bytes (which already
fixes the clean image, the degradation, its level and seed), the noise level handed to the method,
the method and its parameters; re-running a table reads the cache and computes nothing. Results are
stored as uint16 `.npy` arrays (error below 1e-5 on [0, 1]): half the size of float32, and no score
moves. Workers are spawned, not forked, because forking a process that runs JAX can deadlock.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import time

import numpy as np

from aedenoise.evaluation import baselines
from aedenoise.runtime import paths

DEFAULT_CACHE = os.path.join(os.path.expanduser('~'), '.cache', 'aedenoise', 'baselines')
_VERSION = 1  # bump when a method's output changes for the same parameters


@dataclasses.dataclass(frozen=True)
class Job:
  method: str
  noisy: np.ndarray  # float32 (H, W, C)
  sigma: float | None  # None: estimate it from the image


def _key(job: Job, sigma: float) -> str:
  h = hashlib.sha256(np.ascontiguousarray(job.noisy, np.float32).tobytes())
  h.update(str(job.noisy.shape).encode())
  h.update(json.dumps([_VERSION, job.method, baselines.PARAMS[job.method], float(sigma),
                       job.sigma is None]).encode())
  return h.hexdigest()


@dataclasses.dataclass
class Result:
  image: np.ndarray  # float32 (H, W, C) in [0, 1]
  seconds: float     # time this job took here (reading the cache when `cached`)
  cached: bool


def _load(path, shape=None) -> np.ndarray:
  """A cached result; ValueError if it is not one of `shape` (another file under that name)."""
  with path.open('rb') as f:
    image = np.load(f, allow_pickle=False)
  if image.dtype != np.uint16 or (shape is not None and image.shape != tuple(shape)):
    raise ValueError(f'{path} holds a {image.dtype} array of shape {image.shape}')
  return image.astype(np.float32) / 65535.0


def _save(path, image: np.ndarray) -> None:
  """Whole or not at all (paths.atomic_file), so concurrent runs never read half a file."""
  path.parent.mkdir(parents=True, exist_ok=True)
  with paths.atomic_file(path) as f:
    np.save(f, np.round(image * 65535.0).astype(np.uint16))


def _run(job: Job, cache_dir: str) -> Result:
  start = time.perf_counter()
  sigma = baselines.estimate_sigma(job.noisy) if job.sigma is None else job.sigma
  path = paths.path(cache_dir) / job.method / (_key(job, sigma) + '.npy')
  if path.exists():
    try:
      return Result(_load(path, job.noisy.shape), time.perf_counter() - start, True)
    except (OSError, ValueError, EOFError):
      pass  # a cache file cut short by a killed run, or not a result: compute it again
  out = baselines.denoise(job.method, job.noisy, sigma)
  _save(path, out)
  return Result(_load(path), time.perf_counter() - start, False)


def default_workers() -> int:
  return max(1, len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count())


def run(jobs: list[Job], cache_dir: str = DEFAULT_CACHE, workers: int = 0, progress=None
        ) -> list[Result]:
  """One Result per job, in the order of `jobs`. `progress(n)` is called as jobs finish."""
  workers = workers or default_workers()
  if workers <= 1 or len(jobs) <= 1:
    out = []
    for job in jobs:
      out.append(_run(job, cache_dir))
      if progress:
        progress(1)
    return out
  results: list = [None] * len(jobs)
  with concurrent.futures.ProcessPoolExecutor(
      workers, mp_context=multiprocessing.get_context('spawn')) as pool:
    futures = {pool.submit(_run, job, cache_dir): i for i, job in enumerate(jobs)}
    for future in concurrent.futures.as_completed(futures):
      results[futures[future]] = future.result()
      if progress:
        progress(1)
  return results
