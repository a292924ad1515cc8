r"""One check of the whole GPU path, on whatever backend JAX finds, in a few minutes.

  python benchmarks/accelerator_check.py --output=check.json     # size from the backend
  bash benchmarks/accelerator_check.sh --output=check.json       # wheels from .whl/ first
  python benchmarks/accelerator_check.py --size=tiny --output=/tmp/check.json   # the smallest

1. Training: the quick dual_skip run (configs/dual_skip.py:quick, fewer steps below `full`) through
   `train.train_and_evaluate`: whether the loss falls and the restored images beat the noisy ones.
2. Evaluation of its checkpoint (`evaluate.Evaluator`): images/s once compiled.
3. Restore of a large photo-like image (dead leaves plus Gaussian noise) through
   `inference.Restorer`: megapixels/s once compiled, and PSNR before and after.
4. Throughput of the jitted train step (`step.make_train_step`, batch already on the device, as
   benchmarks/train_throughput.py times it) for dual_skip and cifar_model_c at several batch sizes
   in float32 and bfloat16: compile time, images/s, and TFLOP/s against the device's peak.
5. The host input pipeline (`input_pipeline.create_train_iterator`, batches put on the device)
   against the images/s the step consumes.

FLOPs are the model's forward and backward pass per image, from XLA's cost analysis of that pass
compiled alone (`jax.jit(...).lower(...).compile().cost_analysis()`), the usual convention of
model FLOPs utilisation: the step's degradation, metrics and Adam update are not counted. Peaks
are vendors' dense figures for known devices (`PEAK_TFLOPS`) or `--peak_tflops`; a CPU has none
unless given. Prints Markdown tables and writes everything as JSON to --output.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
import jax
import jax.numpy as jnp
import numpy as np

from aedenoise import build, optim, policy
from aedenoise import input_pipeline
from aedenoise.configs import cifar_model_c, dual_skip
from aedenoise.errors import first_line
from aedenoise.evaluation import evaluate
from aedenoise.input_pipeline import dead_leaves
from aedenoise.models import contract, geometry, layers
from aedenoise.restoration import inference, tiling
from aedenoise.runtime import parallel, writers
from aedenoise.training import step, train, train_state

CONFIGS = {'dual_skip': dual_skip, 'cifar_model_c': cifar_model_c}

# Dense TFLOP/s from the vendors' datasheets, by a lower-case fragment of `device_kind` (first
# match wins). float32 is the plain FP32 rate; XLA's default precision may run float32
# convolutions as TF32 on NVIDIA GPUs, so a float32 row can pass 100%.
PEAK_TFLOPS = (
    ('h100 pcie', {'bfloat16': 756.0, 'float32': 51.2}),
    ('h200', {'bfloat16': 989.0, 'float32': 67.0}),
    ('h100', {'bfloat16': 989.0, 'float32': 67.0}),
    ('a100', {'bfloat16': 312.0, 'float32': 19.5}),
    ('nvidia l4', {'bfloat16': 121.0, 'float32': 30.3}),
    ('tpu v4', {'bfloat16': 275.0}),
    ('tpu v5 lite', {'bfloat16': 197.0}),
    ('tpu v5p', {'bfloat16': 459.0}),
    ('tpu v6 lite', {'bfloat16': 918.0}),
)


@dataclasses.dataclass(frozen=True)
class Size:
  train_steps: int      # 0: the quick config's own
  eval_images: int      # 0: the whole evaluation set
  variant: str          # the training config's variants (configs/default.py)
  image_size: tuple     # the training's image size; () for the config's
  restore_side: int
  rows: tuple           # (model, dtype, batch) of the throughput table
  steps: int            # timed steps per row
  warmup: int
  pipeline_batches: int


def _grid(models, dtypes, batches):
  return tuple(itertools.product(models, dtypes, batches))


SIZES = {
    'full': Size(0, 0, 'quick', (), 2048,
                 _grid(CONFIGS, ('float32', 'bfloat16'), (64, 256, 1024)), 10, 3, 20),
    'small': Size(200, 16, 'quick', (), 512,
                  _grid(CONFIGS, ('float32', 'bfloat16'), (16, 64)), 3, 1, 4),
    # What CI runs to keep the script working, not a measurement: one noise, small images, the
    # cheap model's rows only.
    'tiny': Size(4, 8, 'quick,degradation=gaussian_s25', (32, 32), 64,
                 _grid(('cifar_model_c',), ('float32', 'bfloat16'), (8,)), 1, 1, 2),
}


def peaks(kind: str, flag: str) -> tuple[dict, str]:
  """({dtype: peak TFLOP/s}, where from): `flag` is 'N' (every dtype) or 'dtype=N,...'."""
  if flag:
    if '=' not in flag:
      return {'float32': float(flag), 'bfloat16': float(flag)}, '--peak_tflops'
    return {k: float(v) for k, v in (p.split('=') for p in flag.split(','))}, '--peak_tflops'
  for fragment, table in PEAK_TFLOPS:
    if fragment in kind.lower():
      return dict(table), f'datasheet ({fragment})'
  return {}, 'unknown device: n/a (give --peak_tflops)'


def device_info() -> dict:
  device = jax.devices()[0]
  return {'backend': policy.backend(), 'device_kind': device.device_kind,
          'devices': jax.device_count(), 'jax': jax.__version__,
          'python': platform.python_version(),
          'host_cpus': os.cpu_count(), 'conv_impl': policy.conv_impl()}


def _say(message: str) -> None:
  print(f'[accelerator check] {message}', file=sys.stderr, flush=True)


def _psnr(a, b) -> float:
  return float(10 * np.log10(1.0 / np.mean((np.asarray(a, np.float64) - b) ** 2)))


def training(size: Size, workdir: str) -> tuple[dict, object]:
  config = dual_skip.get_config(size.variant)
  if size.image_size:
    config.data.image_size = size.image_size
  if size.train_steps:
    config.num_train_steps = size.train_steps
    config.log_every_steps = max(1, size.train_steps // 16)
    config.checkpoint_every_steps = size.train_steps
  config.data.num_eval = size.eval_images
  start = time.perf_counter()
  result = train.train_and_evaluate(config, workdir)
  seconds = time.perf_counter() - start
  losses = [r['loss'] for r in writers.read_jsonl(os.path.join(workdir, 'metrics.jsonl'))
            if r['kind'] == 'train']
  by = {(r['degradation'], r['method']): r['psnr'] for r in result['eval']}
  label = build.model_label(config)
  rows = [{'degradation': d, 'noisy_psnr': by[(d, evaluate.INPUT)], 'restored_psnr': p,
           'gain': p - by[(d, evaluate.INPUT)]} for (d, m), p in by.items() if m == label]
  return {'model': label, 'steps': config.num_train_steps, 'batch': config.batch_size,
          'seconds': seconds, 'first_loss': losses[0], 'last_loss': losses[-1],
          'loss_falls': losses[-1] < losses[0], 'rows': rows,
          'restored_beats_noisy': all(r['gain'] > 0 for r in rows)}, config


def evaluation(config, loaded, mesh) -> dict:
  eval_set = input_pipeline.load_eval_set(config)
  evaluator = evaluate.Evaluator(loaded.task, mesh)
  start = time.perf_counter()
  records, _ = evaluator.run(loaded.variables, eval_set)  # compiles every row
  first = time.perf_counter() - start
  start = time.perf_counter()
  evaluator.run(loaded.variables, eval_set)
  seconds = time.perf_counter() - start
  scored = len(eval_set) * len({r['degradation'] for r in records})
  return {'images': scored, 'first_seconds': first, 'seconds': seconds,
          'images_per_sec': scored / seconds}


def large_restore(config, loaded, mesh, side: int) -> dict:
  rng = np.random.default_rng(0)
  clean = dead_leaves.render(rng, (side, side), int(config.data.channels)) / 255.0
  noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
  tile = min(side, geometry.DEFAULT_TILE)
  restorer = inference.Restorer(loaded.task, loaded.variables, mesh, tile)
  tiles = len(tiling.plan(noisy, restorer.tile, restorer.overlap,
                          restorer.geometry.multiple or 1).offsets)
  if tiles < restorer.batch:  # no batch padded with copies of one tile
    restorer = inference.Restorer(loaded.task, loaded.variables, mesh, tile, batch_size=tiles)
  start = time.perf_counter()
  restorer.restore([noisy])  # compiles
  first = time.perf_counter() - start
  start = time.perf_counter()
  restored = restorer.restore([noisy])[0]
  seconds = time.perf_counter() - start
  return {'side': side, 'tile': list(restorer.tile), 'tiles': tiles, 'first_seconds': first,
          'seconds': seconds, 'megapixels_per_sec': side * side / 1e6 / seconds,
          'noisy_psnr': _psnr(noisy, clean), 'restored_psnr': _psnr(restored, clean)}


def model_flops(task) -> float:
  """XLA's count of the model's forward and backward pass on one image (float32, XLA's own
  convolutions: the same count on every backend)."""
  model = task.model
  params, state = contract.split(task.abstract_variables)

  def loss(p, s, x):
    out, _, _ = contract.apply_train(model, p, s, x, contract.rngs(jax.random.key(0)))
    return jnp.mean(out.astype(jnp.float32) ** 2)

  lowered = jax.jit(layers.traced_with('lax', jax.grad(loss))).lower(
      params, state, jax.ShapeDtypeStruct(task.input_shape(), jnp.float32))
  flops = (lowered.compile().cost_analysis() or {}).get('flops')
  return float(flops or lowered.cost_analysis().get('flops', 0.0))


def throughput(name: str, dtype: str, batch: int, size: Size, mesh, flops: dict,
               peak: dict) -> dict:
  config = CONFIGS[name].get_config('quick')
  devices = mesh.devices.size
  config.batch_size = -(-batch // devices) * devices
  config.dtype = dtype
  task = build.task(config)
  if name not in flops:
    flops[name] = model_flops(task)
  state = train_state.create_train_state(task, optim.create_optimizer(config),
                                         parallel.replicated(mesh))
  images = np.random.default_rng(0).integers(0, 256, task.target_shape(config.batch_size),
                                             dtype=np.uint8)
  data = parallel.to_global({'target': images}, parallel.batch_sharding(mesh))
  start = time.perf_counter()
  compiled = step.make_train_step(task, mesh).lower(state, data).compile()
  compile_s = time.perf_counter() - start
  for _ in range(size.warmup):
    state, metrics = compiled(state, data)
  jax.block_until_ready(metrics)
  times = []
  for _ in range(size.steps):
    start = time.perf_counter()
    state, metrics = compiled(state, data)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
  step_s = float(np.median(times))
  rate = config.batch_size / step_s
  tflops = flops[name] * rate / 1e12
  device_peak = peak.get(dtype) and peak[dtype] * devices
  return {'model': name, 'dtype': dtype, 'batch': config.batch_size, 'compile_s': compile_s,
          'step_ms': 1000 * step_s, 'images_per_sec': rate, 'gflops_per_image': flops[name] / 1e9,
          'tflops': tflops, 'peak_tflops': device_peak,
          'peak_fraction': tflops / device_peak if device_peak else None}


def pipeline(name: str, batch: int, batches: int, mesh, workers: int) -> dict:
  config = CONFIGS[name].get_config('quick')
  config.batch_size = batch
  if workers:
    config.data.num_workers = workers
  sharding = parallel.batch_sharding(mesh)
  put = lambda b: jax.block_until_ready(parallel.to_global(b, sharding))
  it = input_pipeline.create_train_iterator(config, start_step=0, put=put)
  try:
    next(it)  # starts the workers
    start = time.perf_counter()
    for _ in range(batches):
      next(it)
    seconds = time.perf_counter() - start
  finally:
    it.close()
  return {'model': name, 'source': config.data.train, 'batch': batch,
          'num_workers': config.data.num_workers, 'images_per_sec': batches * batch / seconds}


def _f(value, spec: str) -> str:
  return 'n/a' if value is None else format(value, spec)


def markdown(r: dict) -> str:
  d, t, e, x = r['device'], r['training'], r['eval'], r['restore']
  out = [f"## Accelerator check ({r['size']}): {d['devices']} x {d['device_kind']} "
         f"({d['backend']}), jax {d['jax']}, {r['seconds']:.0f} s",
         '', f"Training: {t['model']}, {t['steps']} steps x {t['batch']}, {t['seconds']:.1f} s; "
         f"loss {t['first_loss']:.4f} -> {t['last_loss']:.4f}",
         '', '| noise | noisy PSNR | restored PSNR | gain |', '|---|---:|---:|---:|']
  out += [f"| {w['degradation']} | {w['noisy_psnr']:.2f} | {w['restored_psnr']:.2f} | "
          f"{w['gain']:+.2f} |" for w in t['rows']]
  out += ['', f"Evaluation: {e['images']} images in {e['seconds']:.2f} s, "
          f"{e['images_per_sec']:.1f} images/s ({e['first_seconds']:.1f} s with the compile)",
          f"Restore: {x['side']}x{x['side']}, {x['tiles']} tiles of {x['tile'][0]}x{x['tile'][1]}"
          f", {x['seconds']:.2f} s, {x['megapixels_per_sec']:.2f} MP/s ({x['first_seconds']:.1f} s"
          f" with the compile); PSNR {x['noisy_psnr']:.2f} -> {x['restored_psnr']:.2f} dB",
          '', f"Peak: {r['peak_source']}", '',
          '| model | dtype | batch | compile (s) | ms/step | img/s | GFLOP/img | TFLOP/s | '
          '% of peak |', '|---|---|---:|---:|---:|---:|---:|---:|---:|']
  for w in r['throughput']:
    if 'error' in w:
      out.append(f"| {w['model']} | {w['dtype']} | {w['batch']} | {w['error']} |" + ' |' * 5)
      continue
    share = None if w['peak_fraction'] is None else 100 * w['peak_fraction']
    out.append(f"| {w['model']} | {w['dtype']} | {w['batch']} | {w['compile_s']:.1f} | "
               f"{w['step_ms']:.1f} | {w['images_per_sec']:.1f} | {w['gflops_per_image']:.3f} | "
               f"{w['tflops']:.3f} | {_f(share, '.2f')} |")
  out += ['', '| input pipeline | batch | workers | pipeline img/s | step img/s | pipeline/step |',
          '|---|---:|---:|---:|---:|---:|']
  out += [f"| {w['model']} ({w['source']}) | {w['batch']} | {w['num_workers']} | "
          f"{w['images_per_sec']:.1f} | {w['step_images_per_sec']:.1f} | {w['ratio']:.2f} |"
          for w in r['input_pipeline']]
  out += ['', 'Checks: ' + ', '.join(f'{k} {"yes" if v else "NO"}' for k, v in r['checks'].items())]
  return '\n'.join(out)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--size', choices=('auto', *SIZES), default='auto',
                      help="auto: 'small' on a CPU, 'full' elsewhere")
  parser.add_argument('--output', default='accelerator_check.json', help='JSON report')
  parser.add_argument('--workdir', default='', help='training workdir (default: a temporary one)')
  parser.add_argument('--peak_tflops', default='', help="N, or e.g. 'bfloat16=989,float32=67'")
  parser.add_argument('--num_workers', type=int, default=0,
                      help="input pipeline threads (0: the config's)")
  args = parser.parse_args()
  started = time.perf_counter()
  size_name = args.size if args.size != 'auto' else ('small' if policy.on_cpu() else 'full')
  size = SIZES[size_name]
  info = device_info()
  try:
    peak, peak_source = peaks(info['device_kind'], args.peak_tflops)
  except ValueError:
    parser.error(f'--peak_tflops={args.peak_tflops}: give N or dtype=N,... (e.g. bfloat16=989)')
  mesh = parallel.create_mesh()
  _say(f"size {size_name} on {info['devices']} x {info['device_kind']}; training dual_skip")
  with tempfile.TemporaryDirectory(prefix='accelerator-check-') as tmp:
    workdir = args.workdir or os.path.join(tmp, 'dual_skip')
    trained, config = training(size, workdir)
    loaded = inference.load_model(build.task(config), workdir, mesh)
    _say('evaluation')
    evaluated = evaluation(config, loaded, mesh)
    _say(f'restore of a {size.restore_side}x{size.restore_side} image')
    restored = large_restore(config, loaded, mesh, size.restore_side)
  flops: dict = {}
  rows = []
  for row in size.rows:
    _say('train step: {}, {}, batch {}'.format(*row))
    try:
      rows.append(throughput(*row, size, mesh, flops, peak))
    except jax.errors.JaxRuntimeError as e:  # out of memory at a large batch: the row says so
      rows.append(dict(zip(('model', 'dtype', 'batch'), row), error=first_line(e)))
  fed = []
  for name in dict.fromkeys(m for m, _, _ in size.rows):
    mine = [w for w in rows if w['model'] == name and 'error' not in w]
    if not mine:
      continue
    _say(f'input pipeline of {name}')
    best = max(mine, key=lambda w: w['images_per_sec'])
    got = pipeline(name, best['batch'], size.pipeline_batches, mesh, args.num_workers)
    fed.append({**got, 'step_images_per_sec': best['images_per_sec'],
                'ratio': got['images_per_sec'] / best['images_per_sec']})
  report = {'size': size_name, 'device': info, 'peak_tflops': peak, 'peak_source': peak_source,
            'training': trained, 'eval': evaluated, 'restore': restored, 'throughput': rows,
            'input_pipeline': fed,
            'checks': {'loss_falls': trained['loss_falls'],
                       'restored_beats_noisy': trained['restored_beats_noisy'],
                       'large_restore_beats_noisy':
                           restored['restored_psnr'] > restored['noisy_psnr'],
                       'pipeline_keeps_up': all(w['ratio'] >= 1 for w in fed)},
            'seconds': time.perf_counter() - started}
  print(markdown(report))
  with open(args.output, 'w', encoding='utf-8') as f:
    json.dump(report, f, indent=2)
    f.write('\n')


if __name__ == '__main__':
  main()
