"""Khandelwal & Sharma, "Denoising and Deblurring Images using Dual Autoencoders" (2023): the six
models on faces, scored per noise type beside the paper's 48 numbers (6 models x 4 noises x PSNR,
SSIM), with the loss/PSNR/SSIM curves of each model and a sample grid per noise.

    python -m aedenoise.study dual_autoencoders --workdir=W [--budget=reduced] [--data_dir=D]

Data: the study's IMDB-WIKI faces are not available offline; `utkface_faces/` (2,371 UTKFace
faces) stands in, grey, resized to 100x100 with nearest neighbours (Keras `load_img`'s default),
split as the study split its pairs (random.Random(1234): 20% test, then 10% of the rest for
validation: 1,707 / 190 / 474 faces). Every model trains on all four noises mixed (one per image,
strength drawn from a range: preset `faces_mix`) and is scored per noise on the 474 test faces with
fixed keys. Budgets: `smoke` 8 steps per model; `reduced` 2,500 steps of batch 32 (47 epochs of
the training faces; docs/STUDIES.md has its measured cost); `full` the paper's 45,000 steps of
batch 128.
"""
from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from aedenoise import build
from aedenoise.configs import default
from aedenoise.runtime import paths
from aedenoise.runtime.writers import read_jsonl
from aedenoise.studies import claims, definition
from aedenoise.studies.definition import Paper, Run

MODELS = ('single', 'single_sep', 'dual', 'dual_sep', 'dual_skip', 'dual_skip_sep')
NOISES = ('gaussian', 'impulse', 'speckle', 'poisson')  # the paper's row order
# The paper's table, per model: PSNR and SSIM for Gaussian, impulse, speckle, Poisson noise.
PUBLISHED = {
    'single': ((24.30, 25.99, 27.19, 28.14), (0.76, 0.82, 0.86, 0.89)),
    'single_sep': ((24.18, 22.12, 26.78, 27.51), (0.75, 0.62, 0.83, 0.87)),
    'dual': ((25.01, 26.88, 28.11, 29.08), (0.78, 0.85, 0.88, 0.90)),
    'dual_sep': ((24.65, 22.79, 27.26, 27.91), (0.76, 0.67, 0.86, 0.88)),
    'dual_skip': ((24.92, 28.59, 29.52, 30.83), (0.76, 0.88, 0.89, 0.91)),
    'dual_skip_sep': ((24.37, 24.27, 27.95, 28.84), (0.75, 0.73, 0.87, 0.89)),
}
BUDGET_STEPS = {'smoke': (8, 8), 'reduced': (2_500, 32), 'full': (45_000, 128)}  # (steps, batch)
SAMPLES = 'study_samples.npz'


def _impulse_collapse(values, twins) -> bool | None:
  """For every (plain, separable) pair: the deficit on impulse noise exceeds that on the others."""
  results = []
  for plain, sep in twins:
    deficit = {}
    for noise in NOISES:
      a, b = values((plain, noise, 'psnr')), values((sep, noise, 'psnr'))
      deficit[noise] = None if a is None or b is None else a - b
    if any(d is None for d in deficit.values()):
      results.append(None)
    else:
      results.append(all(deficit['impulse'] > d for n, d in deficit.items() if n != 'impulse'))
  return claims.all_of(results)


class DualAutoencoders(definition.Study):
  name = 'dual_autoencoders'
  title = ('Khandelwal & Sharma, "Denoising and Deblurring Images using Dual Autoencoders" '
           '(2023)')
  paper = tuple(Paper(model, noise, metric, values[i])
                for model, (psnr, ssim) in PUBLISHED.items()
                for metric, values in (('psnr', psnr), ('ssim', ssim))
                for i, noise in enumerate(NOISES))

  def runs(self, budget: str, data_dir: str) -> list[Run]:
    faces = definition.dataset(data_dir, 'utkface_faces', self.name)
    steps, batch = BUDGET_STEPS[budget]
    smoke = budget == 'smoke'
    runs = []
    for model in MODELS:
      config = default.get_config(model=model)
      config.update_from_flattened_dict({
          'batch_size': batch, 'num_train_steps': steps,
          'log_every_steps': max(steps // 50, 1), 'checkpoint_every_steps': max(steps // 10, 1),
          'eval_every_steps': max(steps // 10, 1) if not smoke else 0,
          'data.train': f'folder:{faces}', 'data.train_split': 'train',
          'data.eval': f'folder:{faces}', 'data.eval_split': 'val',
          'data.num_eval': 16 if smoke else 0,
          'data.fit': 'resize', 'data.resize_method': 'nearest',
          'eval.batch_size': 8 if smoke else 64})
      runs.append(Run(model, model, config))
    return runs

  def claims(self) -> tuple[claims.Claim, ...]:
    twins = (('single', 'single_sep'), ('dual', 'dual_sep'), ('dual_skip', 'dual_skip_sep'))
    return (
        claims.best('The dual autoencoder with skip connections gives the best PSNR on impulse, '
                    'speckle and Poisson noise', 'dual_skip', MODELS,
                    ('impulse', 'speckle', 'poisson'), 'psnr'),
        claims.above('The dual autoencoder is above the single one on every noise (PSNR)',
                     [(('dual', n, 'psnr'), ('single', n, 'psnr')) for n in NOISES]),
        claims.above('Each separable-convolution model is below its plain twin on every noise '
                     '(PSNR)', [((plain, n, 'psnr'), (sep, n, 'psnr'))
                                for plain, sep in twins for n in NOISES]),
        claims.Claim('The separable models collapse on impulse noise: their PSNR deficit to the '
                     'plain twin is largest there', lambda v: _impulse_collapse(v, twins)),
    )

  def score(self, run: Run, workdir: str) -> list[dict]:
    config = run.config
    limit = 16 if config.num_train_steps <= BUDGET_STEPS['smoke'][0] else 0
    records, samples = definition.evaluate_on(config, workdir, config.data.eval, 'test', limit,
                                              name='faces_test')
    np.savez_compressed(os.path.join(workdir, SAMPLES), **samples)
    return (definition.model_rows(records, build.model_label(config), run.model)
            + definition.input_rows(records))

  def figures(self, root: str, runs: list[Run]) -> list[str]:
    done = [r for r in runs if os.path.exists(os.path.join(root, r.name, SAMPLES))]
    if not done:
      return []
    written = [_curves(root, done)]
    for noise in NOISES:
      written.append(_sample_grid(root, done, noise))
    return written

  def protocol(self, budget: str) -> str:
    steps, batch = BUDGET_STEPS[budget]
    return (f'Budget `{budget}`: {steps:,} steps of batch {batch} per model (the paper: 45,000 '
            f'steps of batch 128 on 144,003 IMDB-WIKI pairs, 40 epochs). Data: 2,371 UTKFace faces '
            f'(IMDB-WIKI is not available offline), grey, 100x100 nearest-neighbour resize, split '
            f'1,707 train / 190 validation / 474 test with random.Random(1234) as the study split '
            f'its pairs. Noise: one of Gaussian (sigma 0.05-0.15), Poisson (peak 32-256), speckle '
            f'(variance 0.01-0.03) and impulse (20-40% of pixels) per training image (the paper '
            f'states only the centres; its noise code is not public); each test row applies one '
            f'noise to every test face with fixed keys. PSNR and SSIM as aedenoise/metrics.py '
            f'computes them (8-bit quantised, data range 1, Gaussian-window SSIM), means over '
            f'the test faces.')


def _curves(root: str, runs: list[Run]) -> str:
  """Training loss, PSNR and SSIM per model (solid), and validation PSNR/SSIM (dots)."""
  fig = Figure(figsize=(15, 4))
  axes = fig.subplots(1, 3)
  for run in runs:
    logged = read_jsonl(os.path.join(root, run.name, 'metrics.jsonl'))
    trained = [r for r in logged if r['kind'] == 'train']
    line, = axes[0].plot([r['step'] for r in trained], [r['loss'] for r in trained],
                         label=run.model)
    for ax, metric in zip(axes[1:], ('psnr', 'ssim')):
      ax.plot([r['step'] for r in trained], [r[metric] for r in trained], color=line.get_color())
      val = [(r['step'], np.mean([v for k, v in r.items() if k.partition('/')[2] == metric]))
             for r in logged if r['kind'] == 'eval']
      if val:
        ax.plot(*zip(*val), 'o', color=line.get_color(), markersize=3)
  for ax, title in zip(axes, ('training loss (BCE)', 'PSNR (dB)', 'SSIM')):
    ax.set_title(title)
    ax.set_xlabel('step')
    ax.grid(alpha=0.3)
  axes[0].legend(fontsize=8)
  fig.suptitle('lines: training batches; dots: validation faces (mean over the four noises)')
  fig.tight_layout()
  paths.save_figure(fig, os.path.join(root, 'curves.png'), dpi=100)
  return 'curves.png'


def _sample_grid(root: str, runs: list[Run], noise: str) -> str:
  """Test faces under one noise: noisy | each model's restoration | clean."""
  samples = {r.model: np.load(os.path.join(root, r.name, SAMPLES))[noise] for r in runs}
  first = next(iter(samples.values()))
  columns = ['noisy'] + list(samples) + ['clean']
  fig = Figure(figsize=(1.6 * len(columns), 1.7 * len(first)))
  axes = fig.subplots(len(first), len(columns), squeeze=False)
  for i in range(len(first)):
    images = [first[i][0]] + [s[i][1] for s in samples.values()] + [first[i][2]]
    for j, (image, title) in enumerate(zip(images, columns)):
      axes[i, j].imshow(np.clip(image[..., 0], 0, 1), cmap='gray', vmin=0, vmax=1)
      axes[i, j].set_axis_off()
      if i == 0:
        axes[i, j].set_title(title, fontsize=8)
  fig.tight_layout()
  name = f'samples_{noise}.png'
  paths.save_figure(fig, os.path.join(root, name), dpi=100)
  return name


STUDY = DualAutoencoders()
