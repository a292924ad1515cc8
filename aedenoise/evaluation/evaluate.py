"""Evaluation: PSNR/SSIM of the model's restorations and of its baselines, one row per method.

Every (degradation, image) pair has a fixed key, `fold_in(named_key(eval.seed, name), i)`,
so the degraded evaluation set is identical across runs, device counts and hosts, and adding a row
does not change the others. Each degradation is scored for the model and for the baselines any
table of its kind needs: the degraded input itself when it has the target's size (the model must
beat it), or, when the degradation shrinks the image (super-resolution), the classic upscalers
nearest, bilinear and bicubic. Classic denoisers named in `config.eval.baselines` (aedenoise/
baselines.py) add rows: the degraded inputs come back to the host once and the denoisers run there
in parallel, cached, told the noise level when the degradation fixes it (a Gaussian's sigma) and
estimating it otherwise (method `<name>-est`). An evaluation set of real pairs (its own degraded inputs) has one
degradation instead, `real`. Inputs are assembled as global arrays and results come back replicated,
so every process of a multi-host run can read them.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from aedenoise import build, degradations, metrics, policy
from aedenoise.evaluation import baseline_runner, baselines, testsets
from aedenoise.models import contract
from aedenoise.runtime import parallel

INPUT = 'input'  # the method name of the degraded input's own row
BASELINE_ORDER = (INPUT, *degradations.UPSCALING)
METRICS = ('psnr', 'ssim')
LOSS = 'loss'  # the model's rows also carry its training loss on the evaluation images


def _global(x: np.ndarray, sharding) -> jax.Array:
  """A host array that every process holds in full -> a global array with `sharding`."""
  return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def reference_method(records: list[dict], degradation: str) -> str | None:
  """The row a model's gain is measured against: the input, else the best classic upscaler."""
  methods = {r['method'] for r in records if r['degradation'] == degradation}
  return INPUT if INPUT in methods else ('bicubic' if 'bicubic' in methods else None)


def scalars(records: list[dict], model: str) -> dict[str, float]:
  """Flat {'<degradation>/psnr': ..., '<degradation>/<method>_psnr': ...} for metrics.jsonl and
  TensorBoard: the model's own rows without a prefix, baselines prefixed by their method."""
  out = {}
  for r in records:
    prefix = '' if r['method'] == model else f"{r['method']}_"
    for k in METRICS + (LOSS,) * (r['method'] == model):
      out[f"{r['degradation']}/{prefix}{k}"] = r[k]
  return out


def baseline_images(inputs, target_shape) -> dict:
  """{method: images} a model's scores are set beside: the degraded inputs themselves when they
  have the target's size, else their nearest, bilinear and bicubic upscalings. The one baseline
  rule of every evaluation (crops here, whole images in evaluate_whole.py)."""
  if tuple(inputs.shape) == tuple(target_shape):
    return {INPUT: inputs}
  return {name: jax.image.resize(inputs, target_shape, method)
          for name, method in degradations.UPSCALING.items()}


def baseline_scores(inputs, target, conv: metrics.Convention) -> dict[str, tuple]:
  """{method: (psnr, ssim)} of `baseline_images`."""
  return {name: metrics.psnr_ssim(images, target, conv)
          for name, images in baseline_images(inputs, target.shape).items()}


def given_sigma(spec) -> float | None:
  """The noise level a classic denoiser is told: a fixed zero-mean Gaussian's sigma, else None
  (estimate it from the image)."""
  spec = dict(spec)
  if spec.get('kind') != 'gaussian' or spec.get('mean', 0.0):
    return None
  for key, power in (('sigma', 1.0), ('var', 0.5)):
    value = spec.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
      return float(value) ** power
  return None


def classic_rows(name: str, inputs, targets_u8, methods: list[str], sigma: float | None,
                 conv: metrics.Convention, cache_dir: str, workers: int) -> list[dict]:
  """One record per classic denoiser run (on the host, cached) on the same degraded inputs (a
  batch, or a list of images of any sizes)."""
  jobs = [baseline_runner.Job(m, x, sigma) for m in methods for x in inputs]
  results = baseline_runner.run(jobs, cache_dir, workers)
  rows = []
  for k, m in enumerate(methods):
    restored = [r.image for r in results[k * len(inputs):(k + 1) * len(inputs)]]
    rows.append(row(name, baselines.method_label(m, sigma is None),
                    *testsets.score(restored, targets_u8, conv), len(inputs)))
  return rows


def row(degradation: str, method: str, psnr: float, ssim: float, images: int, **extra) -> dict:
  """One record of an evaluation table: the long format every evaluator writes."""
  return {'degradation': degradation, 'method': method, 'psnr': float(psnr),
          'ssim': float(ssim), 'images': int(images), **extra}


def with_gain(ours: dict, rows: list[dict]) -> dict:
  """The model's record with `gain`, its PSNR over `reference_method`'s row (where there is one)."""
  reference = reference_method(rows, ours['degradation'])
  if reference is not None:
    ours = dict(ours, gain=ours['psnr'] - next(
        r['psnr'] for r in rows if r['method'] == reference and
        r['degradation'] == ours['degradation']))
  return ours


def for_display(inputs, target):
  """A degraded input at the target's size, for image grids (nearest-neighbour enlargement)."""
  if inputs.shape == target.shape:
    return inputs
  return jax.image.resize(inputs, target.shape, 'nearest')


class Evaluator:
  """Degrade (fixed keys) -> restore -> score, batched over the mesh."""

  def __init__(self, task, mesh, method: str | None = None):
    config, model = task.config, task.model
    self.components = degradations.components(task.eval_degradation)
    self.names = list(self.components)
    self.method = method or task.label
    # On-disk pairs are one row; 'real' only where the config says they are camera captures.
    self.pairs_row = str(config.data.pairs_row)
    self.scale = task.scale  # for pairs read from disk
    self.conv = metrics.Convention.from_config(config.eval)
    self.grid_images = int(config.eval.grid_images)
    self.mesh = mesh
    self.baselines = baselines.parse(config.eval.baselines)
    self.sigmas = {n: given_sigma(s) for n, s in self.components.items()}
    self.baseline_cache = config.eval.baseline_cache or baseline_runner.DEFAULT_CACHE
    self.baseline_workers = int(config.eval.baseline_workers)
    keep_inputs = bool(self.baselines)  # the classic rows run on the host, on these inputs
    n_dev = mesh.devices.size
    self.batch = max(n_dev, (int(config.eval.batch_size) // n_dev) * n_dev)
    fns = [degradations.degrade_with_keys(s) for s in self.components.values()]
    objective = task.objective
    conv, grid, seed, method = self.conv, self.grid_images, int(config.eval.seed), self.method

    micro_batch_size = config.micro_batch_size

    def forward(variables, inputs):
      # In micro-batches as the train step (policy.micro_batches); inference reads a model's state
      # without updating it, so every model may be split here.
      apply = lambda x: contract.apply_inference(model, variables, x)
      n = policy.micro_batches(micro_batch_size, inputs.shape[0], n_dev, has_state=False)
      if n == 1:
        return apply(inputs)
      return jax.tree.map(parallel.merge_micro,
                          jax.lax.map(apply, parallel.split_micro(inputs, n, mesh)))

    def score(variables, inputs, target):
      outputs, sown = forward(variables, inputs)
      restored = objective.to_images(outputs)
      loss = objective.total(objective.per_image(outputs, target, sown))
      scores = {method: (*metrics.psnr_ssim(restored, target, conv), loss),
                **baseline_scores(inputs, target, conv)}
      out = {'degraded': for_display(inputs[:grid], target[:grid]),
             'restored': restored[:grid], 'scores': scores}
      if keep_inputs and inputs.shape == target.shape:
        out['inputs'] = inputs
      return out

    size = tuple(config.data.eval_image_size or config.data.image_size)
    example = (jax.ShapeDtypeStruct((self.batch,), jax.random.key(0).dtype),
               jax.ShapeDtypeStruct((self.batch, *size, int(config.data.channels)), jnp.float32))
    # Rows whose inputs share one shape (every denoising mix) are one program that switches on the
    # row, compiled once; rows of different sizes are compiled one by one.
    self.one_program = len({jax.eval_shape(f, *example).shape for f in fns}) == 1
    bases = jnp.stack([degradations.named_key(seed, name) for name in self.names])

    def run_batch(variables, target_u8, idx, row):
      target = target_u8.astype(jnp.float32) / 255.0
      keys = jax.vmap(lambda i: jax.random.fold_in(bases[row], i))(idx)
      degraded = (jax.lax.switch(row, fns, keys, target) if self.one_program
                  else fns[row](keys, target))
      return score(variables, degraded, target)

    def run_pairs(variables, target_u8, input_u8):
      return score(variables, input_u8.astype(jnp.float32) / 255.0,
                   target_u8.astype(jnp.float32) / 255.0)

    data, repl = parallel.batch_sharding(mesh), parallel.replicated(mesh)
    self._run_batch = task.jit(run_batch,
                               in_shardings=(repl, data, data) + ((repl,) * self.one_program),
                               out_shardings=repl, static_argnums=() if self.one_program else (3,))
    self._run_pairs = task.jit(run_pairs, in_shardings=(repl, data, data), out_shardings=repl)

  def run(self, variables, eval_set) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Returns (records, samples): one record per (degradation, method); samples[name] is a
    [grid_images, 3, H, W, C] array of (degraded, restored, clean) for the image grid."""
    targets = eval_set.targets
    n = len(targets)
    records, samples = [], {}
    data = parallel.batch_sharding(self.mesh)
    real = eval_set.inputs is not None
    if real:
      build.check_pairs(self.method, self.scale, eval_set.inputs.shape, targets.shape,
                        f'the pairs of {eval_set.name}')
    for row, name in enumerate([self.pairs_row] if real else self.names):
      sums: dict[str, dict[str, float]] = {}
      host_inputs = []
      for start in range(0, n, self.batch):
        idx = np.arange(start, start + self.batch)
        valid = idx < n
        take = np.minimum(idx, n - 1)  # pad the last batch by repeating the last image
        if real:
          out = self._run_pairs(variables, _global(targets[take], data),
                                _global(eval_set.inputs[take], data))
        else:
          out = self._run_batch(variables, _global(targets[take], data),
                                _global(idx.astype(np.int32), data),
                                np.int32(row) if self.one_program else row)
        scores = jax.device_get(out['scores'])
        if 'inputs' in out:
          host_inputs.append(np.asarray(jax.device_get(out['inputs']))[valid])
        for method, values in scores.items():
          acc = sums.setdefault(method, dict.fromkeys(METRICS + (LOSS,) * (method == self.method),
                                                      0.0))
          for k, v in zip(METRICS + (LOSS,), values):
            acc[k] += float(np.sum(np.asarray(v)[valid]))
        if start == 0:
          g = min(self.grid_images, n, self.batch)  # the grid comes from the first batch
          degraded, restored = jax.device_get((out['degraded'][:g], out['restored'][:g]))
          samples[name] = np.stack([np.asarray(degraded), np.asarray(restored),
                                    targets[:g].astype(np.float32) / 255.0], axis=1)
      references = sorted((m for m in sums if m != self.method), key=BASELINE_ORDER.index)
      rows = [{'degradation': name, 'method': m, **{k: v / n for k, v in sums[m].items()},
               'images': n} for m in references]
      if host_inputs:
        rows += classic_rows(name, np.concatenate(host_inputs), targets, self.baselines,
                             None if real else self.sigmas[name], self.conv, self.baseline_cache,
                             self.baseline_workers)
      ours = {'degradation': name, 'method': self.method,
              **{k: v / n for k, v in sums[self.method].items()}, 'images': n}
      records += rows + [with_gain(ours, rows)]
    return records, samples
