"""Lalaj (University of British Columbia): denoising autoencoders on MNIST, depth {1, 3, 5} x latent
{13x13, 8x8, 5x5} x 4 channels. The study publishes Table 1 (the latents' compression rates),
figures of loss curves (Fig. 5), test losses (Fig. 6) and samples (Fig. 7), and two claims: a
larger latent gives a lower loss, and so does a deeper network.

    python -m aedenoise.study mnist_grid --workdir=W [--budget=reduced] [--data_dir=D]

Data: MNIST prepared offline by TFDS from `mnist/` (configs/mnist_dae.py): 48,000 / 12,000
train/validation split of the training set, test loss on the 10,000 test images; noise
clip(x + 0.5 N(0, 1), 0, 1); MSE; Adam 1e-3; batch 64. Budgets: `smoke` 4 steps per model;
`reduced` one epoch (750 steps) per model with 3 seeds each, so that the claims are tested on
means and spreads rather than one seed (docs/STUDIES.md has its cost); `full` the study's 15
epochs (11,250 steps), one seed.
"""
from __future__ import annotations

import json
import os

import jax
import numpy as np
from matplotlib.figure import Figure

from aedenoise import build
from aedenoise.configs import mnist_dae as mnist_config
from aedenoise.models import mnist_dae
from aedenoise.runtime import paths
from aedenoise.runtime.writers import read_jsonl
from aedenoise.studies import claims, definition
from aedenoise.studies.definition import Paper, Run

# Table 1: the share of the 784 input values the latent keeps, per latent side.
COMPRESSION = {13: 86.22, 8: 32.65, 5: 12.76}
EPOCH_STEPS = mnist_config.EPOCH_STEPS
# budget -> (steps, seeds, validation images, test images)
BUDGETS = {'smoke': (4, (0,), 64, 128), 'reduced': (EPOCH_STEPS, (0, 1, 2), 2_000, 0),
           'full': (15 * EPOCH_STEPS, (0,), 0, 0)}
SAMPLES = 'study_samples.npz'


def label(depth: int, latent: int) -> str:
  return f'DAE_{depth}_{latent}'


def latent_size(depth: int, latent: int) -> int:
  """Values in the model's latent: its last encoder layer's output, traced (nothing computed)."""
  model = mnist_dae.MnistDenoisingAutoEncoder(depth=depth, latent=latent)
  x = jax.ShapeDtypeStruct((1, 28, 28, 1), np.float32)
  _, state = jax.eval_shape(lambda x: model.init_with_output(
      jax.random.key(0), x, capture_intermediates=True), x)
  return int(np.prod(state['intermediates'][f'enc{depth}']['__call__'][0].shape[1:]))


def _worst_latent(values, latent: int) -> bool | None:
  """Whether the highest test loss of the grid belongs to a model with this latent side."""
  losses = {(d, l): values((label(d, l), 'test', 'loss')) for d, l in mnist_dae.KERNELS}
  if any(v is None for v in losses.values()):
    return None
  return max(losses, key=losses.get)[1] == latent


class MnistGrid(definition.Study):
  name = 'mnist_grid'
  title = ('Lalaj, "Denoising autoencoders on MNIST" (University of British Columbia): depth x '
           'latent grid')
  paper = tuple(Paper(label(d, l), 'latent', 'compression', COMPRESSION[l])
                for d, l in mnist_dae.KERNELS)
  metrics = ('compression', 'loss', 'psnr', 'ssim')

  def runs(self, budget: str, data_dir: str) -> list[Run]:
    manual_dir = definition.dataset(data_dir, 'mnist', self.name)
    steps, seeds, num_val, num_test = BUDGETS[budget]
    runs = []
    for depth, latent in mnist_dae.KERNELS:
      for seed in seeds:
        config = mnist_config.get_config(f'depth={depth},latent={latent}')
        config.update_from_flattened_dict({
            'seed': seed, 'num_train_steps': steps, 'log_every_steps': max(steps // 30, 1),
            'checkpoint_every_steps': max(steps // 5, 1),
            'eval_every_steps': steps // 5 if budget != 'smoke' else 0,
            'data.num_eval': num_val, 'data.num_test': num_test,
            'data.tfds_manual_dir': manual_dir})
        runs.append(Run(f'dae_{depth}_{latent}_seed{seed}', label(depth, latent), config, seed))
    return runs

  def claims(self) -> tuple[claims.Claim, ...]:
    loss = lambda d, l: (label(d, l), 'test', 'loss')
    falling = lambda keys: list(zip(keys, keys[1:]))  # each value above the next one's
    return (
        claims.above('A larger latent gives a lower test loss, at every depth',
                     [p for d in mnist_dae.DEPTHS
                      for p in falling([loss(d, l) for l in sorted(mnist_dae.LATENTS)])]),
        claims.above('A deeper network gives a lower test loss, at every latent size',
                     [p for l in mnist_dae.LATENTS
                      for p in falling([loss(d, l) for d in sorted(mnist_dae.DEPTHS)])]),
        claims.Claim('The 5x5 latent gives the worst test loss of the grid',
                     lambda v: _worst_latent(v, 5)),
    )

  def score(self, run: Run, workdir: str) -> list[dict]:
    config = run.config
    records, samples = definition.evaluate_on(config, workdir, config.data.test, 'all',
                                              int(config.data.num_test), name='mnist_test')
    if run.seed == 0:
      np.savez_compressed(os.path.join(workdir, SAMPLES), **samples)
    kwargs = build.model_kwargs(config)
    out = definition.model_rows(records, build.model_label(config), run.model,
                                ('loss', 'psnr', 'ssim'))
    out = [dict(r, row='test') for r in out]
    out.append({'model': run.model, 'row': 'latent', 'metric': 'compression',
                'value': 100.0 * latent_size(kwargs['depth'], kwargs['latent']) / (28 * 28)})
    return out

  def figures(self, root: str, runs: list[Run]) -> list[str]:
    done = [r for r in runs if os.path.exists(os.path.join(root, r.name, definition.SCORES))]
    if not done:
      return []
    return [_loss_curves(root, done), _test_loss_bars(root, done), _samples(root, done)]

  def protocol(self, budget: str) -> str:
    steps, seeds, num_val, num_test = BUDGETS[budget]
    return (f'Budget `{budget}`: {steps:,} steps of batch 64 ({steps / EPOCH_STEPS:.2g} epochs of '
            f'the 48,000 training images) per model, {len(seeds)} seed(s) each (the study: 15 '
            f'epochs, one run per model; learning rate and batch size unstated, Adam 1e-3 and 64 '
            f'here). Validation on {num_val or 12_000:,} images, test on '
            f'{num_test or 10_000:,} MNIST test images. `loss`: MSE, mean per pixel of images in '
            f'[0, 1] (the report\'s formula sums over an image\'s 784 pixels: a factor 784). '
            f'`compression`: the latent\'s values as a share of the 784 input pixels, from the '
            f'traced model.')


def _depth_latent(run: Run) -> tuple[int, int]:
  kwargs = build.model_kwargs(run.config)
  return kwargs['depth'], kwargs['latent']


def _curve(root: str, run: Run, kind: str) -> list[tuple[float, float]]:
  logged = read_jsonl(os.path.join(root, run.name, 'metrics.jsonl'))
  points = []
  for r in logged:
    if r['kind'] != kind:
      continue
    value = r['loss'] if kind == 'train' else next(
        (v for k, v in r.items() if k.partition('/')[2] == 'loss'), None)
    if value is not None:
      points.append((r['step'] / EPOCH_STEPS, value))
  return points


def _loss_curves(root: str, runs: list[Run]) -> str:
  """Figure 5: one panel per depth; training (line) and validation (dots) loss per latent, the
  mean over seeds."""
  depths = sorted({_depth_latent(r)[0] for r in runs})
  fig = Figure(figsize=(5 * len(depths), 4))
  axes = fig.subplots(1, len(depths), sharey=True, squeeze=False)[0]
  for ax, depth in zip(axes, depths):
    for latent in (13, 8, 5):
      group = [r for r in runs if _depth_latent(r) == (depth, latent)]
      if not group:
        continue
      for kind, style in (('train', '-'), ('eval', 'o')):
        curves = [_curve(root, r, kind) for r in group]
        n = min(len(c) for c in curves)
        if n:
          xs = [p[0] for p in curves[0][:n]]
          ys = np.mean([[p[1] for p in c[:n]] for c in curves], axis=0)
          ax.plot(xs, ys, style, markersize=3, color={13: 'tab:blue', 8: 'tab:orange',
                                                      5: 'tab:green'}[latent],
                  label=f'latent 4x{latent}x{latent}' if kind == 'train' else None)
    ax.set_title(f'depth {depth}')
    ax.set_xlabel('epoch')
    ax.set_yscale('log')
    ax.grid(True, which='both', alpha=0.3)
  axes[0].set_ylabel('MSE (mean per pixel)')
  axes[-1].legend(fontsize=8)
  fig.suptitle('training loss (lines) and validation loss (dots), mean over seeds')
  fig.tight_layout()
  paths.save_figure(fig, os.path.join(root, 'fig5_loss_curves.png'), dpi=100)
  return 'fig5_loss_curves.png'


def _test_losses(root: str, runs: list[Run]) -> dict[tuple[int, int], list[float]]:
  out: dict[tuple[int, int], list[float]] = {}
  for r in runs:
    saved = json.loads((paths.path(root) / r.name / definition.SCORES).read_text())
    value = next(s['value'] for s in saved['scores'] if s['metric'] == 'loss')
    out.setdefault(_depth_latent(r), []).append(value)
  return out


def _test_loss_bars(root: str, runs: list[Run]) -> str:
  """Figure 6: test loss per model, one group per depth; bars are seed means, ticks their range."""
  losses = _test_losses(root, runs)
  depths = sorted({d for d, _ in losses})
  fig = Figure(figsize=(8, 5))
  ax = fig.subplots()
  for j, latent in enumerate((13, 8, 5)):
    xs = [i + (j - 1) * 0.27 for i, d in enumerate(depths) if (d, latent) in losses]
    values = [losses[(d, latent)] for d in depths if (d, latent) in losses]
    means = [np.mean(v) for v in values]
    errors = np.array([[m - min(v), max(v) - m] for m, v in zip(means, values)]).T
    bars = ax.bar(xs, means, 0.27, yerr=errors if len(values[0]) > 1 else None, capsize=3,
                  label=f'latent 4x{latent}x{latent}')
    ax.bar_label(bars, fmt='%.4f', fontsize=7, rotation=90, padding=3)
  ax.set_xticks(range(len(depths)), [f'depth {d}' for d in depths])
  ax.set_ylabel('test MSE (mean per pixel)')
  ax.set_title('test loss per model (bars: mean over seeds; ticks: min-max)')
  ax.legend()
  fig.tight_layout()
  paths.save_figure(fig, os.path.join(root, 'fig6_test_loss.png'), dpi=100)
  return 'fig6_test_loss.png'


def _samples(root: str, runs: list[Run]) -> str:
  """Figure 7: per model (rows), a few test digits: noisy | restored | clean."""
  firsts = [r for r in runs if r.seed == 0 and os.path.exists(os.path.join(root, r.name, SAMPLES))]
  fig = Figure(figsize=(12, 1.3 * len(firsts)))
  axes = fig.subplots(len(firsts), 1, squeeze=False)[:, 0]
  for ax, run in zip(axes, firsts):
    triples = next(iter(np.load(os.path.join(root, run.name, SAMPLES)).values()))[:4]
    strip = np.concatenate([np.concatenate(list(t), axis=1) for t in triples], axis=1)
    ax.imshow(np.clip(strip[..., 0], 0, 1), cmap='gray', vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(f'{run.model}: noisy | restored | clean', fontsize=8)
  fig.tight_layout()
  paths.save_figure(fig, os.path.join(root, 'fig7_samples.png'), dpi=100)
  return 'fig7_samples.png'


STUDY = MnistGrid()
