"""A study's report: `study.json` (one record per number), `study.csv`, `study.md` (the paper's
numbers and the project's side by side, with the difference, and the paper's claims decided on
them) and `claims.json` (aedenoise/studies/claims.py).

A record is {"study", "model", "row", "metric", "value", "paper"}: one per number of the paper's
tables (`paper` the published number, `value` the project's, None until its run has finished),
plus the numbers the paper lacks (`paper`: null). Runs of one model with several seeds are
averaged: `value` is their mean, `spread` their standard deviation (None where all runs agree, as
the noisy input's rows do), `runs` how many there are.
"""
from __future__ import annotations

import json
import math

import numpy as np

from aedenoise.runtime import paths
from aedenoise.studies import claims
from aedenoise.studies.definition import Study

COLUMNS = ('study', 'model', 'row', 'metric', 'value', 'paper', 'spread', 'runs')
METRIC_NAMES = {'psnr': 'PSNR (dB)', 'ssim': 'SSIM', 'mse': 'MSE', 'mse_255': 'MSE (0-255)',
                'psnr_of_mse': 'PSNR of mean MSE (dB)',
                'loss': 'loss', 'compression': 'compression (%)', 'f1': 'macro-F1 (%)',
                'f1_batches': 'macro-F1 per 4 (%)', 'accuracy': 'accuracy (%)'}


def _spread(values: list[float]) -> float | None:
  """Standard deviation over runs; None where they agree up to float rounding (the noisy input
  under fixed keys is the same in every run, though each run computes it)."""
  if len(values) < 2 or np.ptp(values) <= 1e-6 * max(1.0, abs(float(np.mean(values)))):
    return None
  return float(np.std(values))


def records(study: Study, scores: list[dict]) -> list[dict]:
  """The paper's numbers with the project's beside them, then the project's other numbers."""
  grouped: dict[tuple, list[float]] = {}
  for s in scores:
    grouped.setdefault((s['model'], s['row'], s['metric']), []).append(float(s['value']))
  out = []

  def record(key, paper):
    values = grouped.get(key, [])
    out.append({'study': study.name, 'model': key[0], 'row': key[1], 'metric': key[2],
                'value': float(np.mean(values)) if values else None, 'paper': paper,
                'spread': _spread(values),
                'runs': len(values)})
  published = {(p.model, p.row, p.metric): p.value for p in study.paper}
  for key, value in published.items():
    record(key, value)
  for key in grouped:
    if key not in published:
      record(key, None)
  return out


def _fmt(metric: str, value) -> str:
  if value is None or (isinstance(value, float) and math.isnan(value)):
    return ''
  if metric in ('ssim', 'mse'):
    return f'{value:.4f}'
  if metric == 'loss':
    return f'{value:.5f}'
  return f'{value:.2f}'


def markdown(study: Study, rows: list[dict], protocol: str, decided: list[dict] = ()) -> str:
  """One line per (model, row); for each metric: paper | project | difference."""
  metrics = [m for m in study.metrics if any(r['metric'] == m for r in rows)]
  metrics += sorted({r['metric'] for r in rows} - set(metrics))
  by_key = {(r['model'], r['row'], r['metric']): r for r in rows}
  lines = []
  header = ['model', 'row']
  for m in metrics:
    name = METRIC_NAMES.get(m, m)
    header += [f'{name} paper', f'{name} here', 'diff']
  lines.append('| ' + ' | '.join(header) + ' |')
  lines.append('|---|---|' + '---:|' * (3 * len(metrics)))
  for model, row in dict.fromkeys((r['model'], r['row']) for r in rows):
    cells = [model, row]
    for m in metrics:
      r = by_key.get((model, row, m))
      paper = r['paper'] if r else None
      value = r['value'] if r else None
      here = _fmt(m, value)
      if r and r.get('spread') is not None:
        here += f' ± {_fmt(m, r["spread"])} ({r["runs"]} runs)'
      diff = (value - paper) if value is not None and paper is not None else None
      cells += [_fmt(m, paper), here, ('+' if diff and diff > 0 else '') + _fmt(m, diff)]
    lines.append('| ' + ' | '.join(cells) + ' |')
  summary = study.summary(rows)
  return (f'# {study.title}\n\n' + (f'{summary}\n\nEvery number:\n\n' if summary else '')
          + '\n'.join(lines) + '\n\n'
          + '`paper`: the published number; `here`: this project\'s (mean and standard deviation '
            'over runs where a model ran with several seeds); `diff` = here - paper. Rows without '
            'a paper number are this project\'s.\n\n'
          + (claims.markdown(list(decided)) + '\n' if decided else '') + protocol + '\n')


def write(root: str, study: Study, rows: list[dict], protocol: str,
          decided: list[dict] = ()) -> None:
  out = paths.path(root)
  paths.write_text(out / 'study.json', json.dumps(rows, indent=2) + '\n')
  paths.write_text(out / 'study.csv', paths.csv_text(rows, COLUMNS))
  paths.write_text(out / 'claims.json', json.dumps(list(decided), indent=2) + '\n')
  paths.write_text(out / 'study.md', markdown(study, rows, protocol, decided))
