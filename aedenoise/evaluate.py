"""Evaluation: PSNR/SSIM of restored and degraded images, one row per degradation.

Every (degradation, image) pair has a fixed key, `fold_in(fold_in(key(eval.seed), crc32(name)), i)`,
so the degraded evaluation set is identical across runs, device counts and hosts, and adding a row
does not change the others. The degraded input is scored too: it is the baseline the model must beat.
An evaluation set of real noisy/clean pairs has one row instead, `real`, scored on its own noisy
images. Inputs are assembled as global arrays and results come back replicated, so every process
of a multi-host run can read them.
"""
from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
import numpy as np

import input_pipeline
from aedenoise import degradations, losses, metrics, parallel


def degradation_key(seed: int, name: str) -> jax.Array:
  return jax.random.fold_in(jax.random.key(seed), zlib.crc32(name.encode()) & 0x7FFFFFFF)


def _global(x: np.ndarray, sharding) -> jax.Array:
  """A host array that every process holds in full -> a global array with `sharding`."""
  return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def scalars(records: list[dict]) -> dict[str, float]:
  """Flat {'<degradation>/<metric>': value} for metrics.jsonl and TensorBoard."""
  out = {}
  for r in records:
    for k in ('psnr', 'ssim', 'input_psnr', 'input_ssim'):
      out[f"{r['degradation']}/{k}"] = r[k]
  return out


class Evaluator:
  """Degrade (fixed keys) -> restore -> score, batched over the mesh; one compile for all rows."""

  def __init__(self, model, config, mesh):
    self.components = degradations.components(degradations.resolve(config.degradation))
    self.names = list(self.components)
    self.seed = int(config.eval.seed)
    self.conv = metrics.Convention.from_config(config.eval)
    self.grid_images = int(config.eval.get('grid_images', 4))
    self.mesh = mesh
    n_dev = mesh.devices.size
    self.batch = max(n_dev, (int(config.eval.batch_size) // n_dev) * n_dev)
    fns = [degradations.degrade_with_keys(s) for s in self.components.values()]
    activation = losses.ACTIVATIONS[model.output_activation]
    conv = self.conv
    grid = self.grid_images
    crcs = jnp.asarray([zlib.crc32(n.encode()) & 0x7FFFFFFF for n in self.names], jnp.uint32)
    seed = self.seed

    def score(params, noisy, clean):
      restored = activation(model.apply({'params': params}, noisy))
      psnr_in, ssim_in = metrics.psnr_ssim(noisy, clean, conv)
      psnr_out, ssim_out = metrics.psnr_ssim(restored, clean, conv)
      return {'noisy': noisy[:grid], 'restored': restored[:grid], 'psnr': psnr_out,
              'ssim': ssim_out, 'input_psnr': psnr_in, 'input_ssim': ssim_in}

    def run_batch(params, clean_u8, idx, row):
      clean = clean_u8.astype(jnp.float32) / 255.0
      base = jax.random.fold_in(jax.random.key(seed), crcs[row])  # = degradation_key(seed, name)
      keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(idx)
      return score(params, jax.lax.switch(row, fns, keys, clean), clean)

    def run_pairs(params, clean_u8, noisy_u8):
      return score(params, noisy_u8.astype(jnp.float32) / 255.0,
                   clean_u8.astype(jnp.float32) / 255.0)

    data = parallel.batch_sharding(mesh)
    repl = parallel.replicated(mesh)
    self._run_batch = jax.jit(run_batch, in_shardings=(repl, data, data, repl),
                              out_shardings=repl)
    self._run_pairs = jax.jit(run_pairs, in_shardings=(repl, data, data), out_shardings=repl)

  def run(self, params, eval_set) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Returns (records, samples): one record per degradation; samples[name] is a
    [grid_images, 3, H, W, C] array of (degraded, restored, clean) for the image grid."""
    images = eval_set.images
    n = len(images)
    records, samples = [], {}
    data = parallel.batch_sharding(self.mesh)
    repl = parallel.replicated(self.mesh)
    real = eval_set.noisy is not None
    for row, name in enumerate([input_pipeline.REAL_NOISE_ROW] if real else self.names):
      sums = {k: 0.0 for k in ('psnr', 'ssim', 'input_psnr', 'input_ssim')}
      for start in range(0, n, self.batch):
        idx = np.arange(start, start + self.batch)
        valid = idx < n
        take = np.minimum(idx, n - 1)  # pad the last batch by repeating the last image
        clean = images[take]
        if real:
          out = self._run_pairs(params, _global(clean, data), _global(eval_set.noisy[take], data))
        else:
          out = self._run_batch(params, _global(clean, data), _global(idx.astype(np.int32), data),
                                _global(np.asarray(row, np.int32), repl))
        host = jax.device_get({k: out[k] for k in sums})
        for k in sums:
          sums[k] += float(np.sum(np.asarray(host[k])[valid]))
        if start == 0:
          g = min(self.grid_images, n)
          noisy, restored = jax.device_get((out['noisy'][:g], out['restored'][:g]))  # replicated
          samples[name] = np.stack([np.asarray(noisy), np.asarray(restored),
                                    clean[:g].astype(np.float32) / 255.0], axis=1)
      record = {'degradation': name, **{k: v / n for k, v in sums.items()}, 'images': n}
      record['psnr_gain'] = record['psnr'] - record['input_psnr']
      records.append(record)
    return records, samples
