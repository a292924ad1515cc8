"""Evaluation outputs: tables as JSON, CSV and Markdown, image grids and training curves as PNG."""
from __future__ import annotations

import json

import numpy as np
from matplotlib.figure import Figure

from aedenoise.runtime import paths
from aedenoise.runtime.writers import read_jsonl

COLUMNS = ('degradation', 'method', 'psnr', 'ssim', 'gain', 'loss', 'images')
HEADERS = {'degradation': 'degradation', 'method': 'method', 'psnr': 'PSNR (dB)', 'ssim': 'SSIM',
           'gain': 'gain (dB)', 'loss': 'loss', 'images': 'images'}
TEXT_COLUMNS = ('degradation', 'method', 'set')


def _fmt(key: str, value) -> str:
  if value is None:
    return ''
  if isinstance(value, str):
    return value
  if key == 'images' or isinstance(value, int):
    return str(int(value))
  if key == 'gain':
    return f'{value:+.2f}'
  if key == 'loss':
    return f'{value:.5g}'
  return f'{value:.4f}' if 'ssim' in key else f'{value:.2f}'


def markdown_table(records: list[dict], columns=COLUMNS) -> str:
  """One line per record; the model's rows carry their gain over the reference row (the degraded
  input, or bicubic upscaling for super-resolution)."""
  lines = ['| ' + ' | '.join(HEADERS.get(c, c) for c in columns) + ' |',
           '|' + '|'.join('---' if c in TEXT_COLUMNS else '---:' for c in columns) + '|']
  lines += ['| ' + ' | '.join(_fmt(c, r.get(c)) for c in columns) + ' |' for r in records]
  return '\n'.join(lines)


def scored_on(config) -> str:
  """What a table scored, for its footer: crops or whole images, and the metric convention."""
  ev, data = config.eval, config.data
  if ev.whole_images:
    what = 'whole images (tiled through the model)'
  else:
    h, w = data.image_size
    what = f'{h}x{w} {"centre crops" if data.fit == "crop" else "resized images"}'
  parts = [what, '8-bit quantised' if ev.quantize else 'not quantised']
  if ev.crop_border:
    parts.append(f'{ev.crop_border}-pixel border dropped')
  if ev.y_channel:
    parts.append('Y channel')
  return ', '.join(parts)


def write_evaluation(out_dir, dataset: str, records: list[dict],
                     samples: dict[str, np.ndarray] | None = None, model: str = '',
                     scored: str = '') -> None:
  """eval/<dataset>.{json,csv,md} and eval/<dataset>_grid.png, each whole or not at all;
  `out_dir` may be a URL."""
  out_dir = paths.path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  paths.write_text(out_dir / f'{dataset}.json', json.dumps(records, indent=2))
  paths.write_text(out_dir / f'{dataset}.csv', paths.csv_text(records, COLUMNS))
  title = f'{model} on {dataset}' if model else dataset
  paths.write_text(
      out_dir / f'{dataset}.md',
      f'# {title}\n\n{markdown_table(records)}\n\n'
      'PSNR (dB) and SSIM against the clean images, means over images: the model\'s '
      'restorations, the degraded input (`input`) or, for super-resolution, classic '
      'upscalings of it; classic denoisers by name (`-est`: told an estimated noise '
      f'level). Convention: aedenoise/metrics.py.{" Scored on " + scored + "." if scored else ""}\n')
  if samples:
    save_grid(out_dir / f'{dataset}_grid.png', samples)


def save_grid(path, samples: dict[str, np.ndarray]) -> None:
  """One row per (degradation, image): degraded | restored | clean."""
  rows = [(name, triple) for name, s in samples.items() for triple in s]
  fig = Figure(figsize=(6, 2 * len(rows)))
  axes = fig.subplots(len(rows), 3, squeeze=False)
  for r, (name, triple) in enumerate(rows):
    for c, (img, title) in enumerate(zip(triple, ('degraded', 'restored', 'clean'))):
      ax = axes[r, c]
      img = np.clip(img, 0, 1)
      ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap='gray', vmin=0, vmax=1,
                interpolation='nearest')
      ax.set_xticks([])
      ax.set_yticks([])
      if r == 0:
        ax.set_title(title, fontsize=9)
      if c == 0:
        ax.set_ylabel(name, fontsize=8)
  fig.tight_layout()
  paths.save_figure(fig, path, dpi=100)


def plot_curves(metrics_path, out_path) -> None:
  """Training loss and PSNR, with evaluation PSNR per degradation where it was logged."""
  records = read_jsonl(metrics_path)
  train = [r for r in records if r['kind'] == 'train']
  if not train:
    return
  fig = Figure(figsize=(10, 3.5))
  ax_loss, ax_psnr = fig.subplots(1, 2)
  steps = [r['step'] for r in train]
  ax_loss.plot(steps, [r['loss'] for r in train])
  ax_loss.set_xlabel('step')
  ax_loss.set_ylabel('training loss')
  ax_psnr.plot(steps, [r['psnr'] for r in train], label='train batch')
  evals = [r for r in records if r['kind'] == 'eval']
  names = sorted({k.rsplit('/', 1)[0] for r in evals for k in r if k.endswith('/psnr')})
  for name in names:
    pts = [(r['step'], r[f'{name}/psnr']) for r in evals if f'{name}/psnr' in r]
    ax_psnr.plot(*zip(*pts), marker='o', label=f'eval {name}')
  ax_psnr.set_xlabel('step')
  ax_psnr.set_ylabel('PSNR (dB)')
  ax_psnr.legend(fontsize=7)
  fig.tight_layout()
  paths.save_figure(fig, out_path, dpi=100)
