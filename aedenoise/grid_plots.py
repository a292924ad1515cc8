"""The MNIST study's two figures, from the grid's per-model results: loss curves and test-loss bars.

Why a module of its own: the grid runner trains; this only draws, from plain dicts, so the figures
can be redrawn (and tested) without JAX. Figures are drawn with matplotlib's object API, which
needs no display and leaves a notebook's pyplot alone.
"""
from __future__ import annotations

from matplotlib.figure import Figure

from aedenoise import paths

DEPTH_STYLE = {1: ':', 3: '--', 5: '-'}


def loss_curves(path, curves: list[dict], loss_label: str) -> None:
  """Training (left) and validation (right) loss of every model against epochs.

  Args:
    path: the PNG to write (a local path or a URL).
    curves: per model {'label', 'depth', 'latent', 'train': [(epoch, loss)], 'val': [(epoch, loss)]}.
    loss_label: the y axis, naming the loss and its unit.
  """
  fig = Figure(figsize=(14, 5))
  axes = fig.subplots(1, 2, sharey=True)
  latents = sorted({c['latent'] for c in curves}, reverse=True)
  colours = dict(zip(latents, ('tab:blue', 'tab:orange', 'tab:green', 'tab:red', 'tab:purple')))
  for ax, key, title in zip(axes, ('train', 'val'), ('training loss', 'validation loss')):
    for c in curves:
      if c[key]:
        x, y = zip(*c[key])
        ax.plot(x, y, DEPTH_STYLE.get(c['depth'], '-'), color=colours[c['latent']],
                marker='.' if key == 'val' else None, label=c['label'])
    ax.set_title(title)
    ax.set_xlabel('epoch (passes over the training split)')
    ax.set_yscale('log')
    ax.grid(True, which='both', alpha=0.3)
  axes[0].set_ylabel(loss_label)
  axes[1].legend(title='model\n(line: depth,\ncolour: latent)', fontsize=8, loc='upper left',
                 bbox_to_anchor=(1.02, 1.0))  # outside the axes: never over a curve
  fig.tight_layout()
  paths.save_figure(fig, path, dpi=110)


def test_loss_bars(path, rows: list[dict], loss_label: str) -> None:
  """Test loss per model: one group of bars per depth, one bar per latent, values on the bars.

  Args:
    path: the PNG to write (a local path or a URL).
    rows: per model {'depth', 'latent', 'test_loss'}.
    loss_label: the y axis, naming the loss and its unit.
  """
  depths = sorted({r['depth'] for r in rows})
  latents = sorted({r['latent'] for r in rows}, reverse=True)
  width = 0.8 / len(latents)
  fig = Figure(figsize=(8, 5))
  ax = fig.subplots()
  for j, latent in enumerate(latents):
    xs, ys = [], []
    for i, depth in enumerate(depths):
      row = next((r for r in rows if (r['depth'], r['latent']) == (depth, latent)), None)
      if row is not None:
        xs.append(i + (j - (len(latents) - 1) / 2) * width)
        ys.append(row['test_loss'])
    bars = ax.bar(xs, ys, width, label=f'latent 4x{latent}x{latent}')
    ax.bar_label(bars, fmt='%.4f', fontsize=8, rotation=90, padding=2)
  ax.set_xticks(range(len(depths)), [f'depth {d}' for d in depths])
  ax.set_xlabel('encoder/decoder depth (layers each way)')
  ax.set_ylabel(loss_label)
  ax.set_title('test loss per model (MNIST test split)')
  ax.set_ylim(0, max(r['test_loss'] for r in rows) * 1.25)
  ax.legend()
  fig.tight_layout()
  paths.save_figure(fig, path, dpi=110)
