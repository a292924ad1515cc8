"""Trains the MNIST study's depth x latent grid one model after another, then draws its figures.

    python -m aedenoise.grid --config=configs/mnist_dae.py[:quick] --workdir=W [--models=d1_l13,d5_l8]

Why a runner instead of nine commands: the study's result is the comparison, so one command trains
every model (or the subset named) into `W/<model>/` with the ordinary `train_and_evaluate` (each
resumes like a single run), scores each on the test split `config.data.test` (`W/<model>/test.json`,
which also marks the model finished, so a re-run skips it), and writes `W/loss_curves.png`,
`W/test_loss.png`, `W/grid.md` and `W/grid.csv` from everything finished so far.
"""
from __future__ import annotations

import copy
import json

from aedenoise.cpu import hostenv

if __name__ == '__main__':
  hostenv.use_huge_pages()  # may re-execute this process once, before anything heavy is imported

# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
from absl import app, flags, logging
from ml_collections import config_flags

import input_pipeline
from aedenoise import (build, command, evaluate, grid_plots, inference, parallel, paths,
                       reporting, train, writers)
from aedenoise.errors import UserError
from aedenoise.models import contract, mnist_dae
from input_pipeline import sources

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The command line's flags; defined only when this module runs as a program, so that importing
  it (tests, other tools) defines nothing."""
  config_flags.DEFINE_config_file('config', None, 'configs/mnist_dae.py[:quick]', lock_config=True)
  flags.DEFINE_string('workdir', None, 'One subfolder per model, plus the figures and the table.')
  flags.DEFINE_string('models', '', 'Comma-separated subset, e.g. d1_l13,d5_l8 (default: all nine).')


COLUMNS = ('model', 'depth', 'latent', 'parameters', 'train_loss', 'val_loss', 'test_loss',
           'test_psnr', 'test_ssim')
TEST_FILE = 'test.json'


# The grid's runs: workdir subfolder -> the MNIST model's arguments.
RUNS = {f'mnist_dae_d{d}_l{l}': {'depth': d, 'latent': l} for d, l in mnist_dae.KERNELS}


def select_models(spec: str) -> list[str]:
  """Names of the grid's runs named in `spec` ('d1_l13,mnist_dae_d5_l8'; '' = all)."""
  known = list(RUNS)
  if not spec.strip():
    return known
  chosen = []
  for part in (p.strip() for p in spec.split(',')):
    name = part if part.startswith('mnist_dae_') else f'mnist_dae_{part}'
    if name not in known:
      raise UserError(f'--models: unknown model {part!r}; known: '
                      f'{", ".join(n.removeprefix("mnist_dae_") for n in known)}')
    if name not in chosen:
      chosen.append(name)
  return chosen


def run_config(config, name: str):
  """`config` building the run `name`'s model."""
  out = copy.deepcopy(config)
  out.model_kwargs = RUNS[name]
  return out


def _read_json(path):
  path = paths.path(path)
  return json.loads(path.read_text()) if path.exists() else None


def for_test_split(config):
  """`config` evaluating on the test split: `data.test`, whole, or its first `data.num_test`."""
  out = copy.deepcopy(config)
  out.data.eval, out.data.eval_split = config.data.test, 'all'
  out.data.num_eval = int(config.data.get('num_test', 0))
  return out


def load_test_set(config):
  return input_pipeline.load_eval_set(for_test_split(config))


def evaluate_test(config, workdir: str, eval_set) -> dict:
  """Scores the newest checkpoint in `workdir` on `eval_set` (`load_test_set`); writes
  eval/<test set>.* and `test.json` {'step', 'dataset', 'records'}."""
  test_config = for_test_split(config)
  mesh = parallel.create_mesh()
  loaded = inference.load_model(test_config, workdir, mesh)
  evaluator = evaluate.Evaluator(loaded.model, test_config, mesh)
  records, samples = evaluator.run(loaded.variables, eval_set)
  reporting.write_evaluation(paths.path(workdir) / 'eval', eval_set.name, records, samples,
                             evaluator.method)
  result = {'step': loaded.step, 'dataset': eval_set.name, 'records': records}
  paths.write_text(paths.path(workdir) / TEST_FILE, json.dumps(result, indent=2))
  return result


def is_finished(config, workdir: str) -> bool:
  done = _read_json(paths.path(workdir) / TEST_FILE)
  return done is not None and done['step'] >= config.num_train_steps


def run_model(config, workdir: str, test_set) -> None:
  """Trains (or resumes) one model and scores it on `test_set`."""
  train.train_and_evaluate(config, workdir)
  evaluate_test(config, workdir, test_set)


def _model_row(records: list[dict], method: str) -> dict:
  return next(r for r in records if r['method'] == method)


def _epochs_per_step(config) -> float:
  """Epochs one step covers: global batch over the size of the training split."""
  n = len(sources.open_source(config.data.train, config.data, config.data.train_split))
  return config.batch_size / n


def collect(config, workdir: str, models: list[str]) -> tuple[list[dict], list[dict]]:
  """(table rows, curves) of the finished models among `models`, read from their workdirs."""
  per_step = _epochs_per_step(config)
  rows, curves = [], []
  for name in models:
    test = _read_json(paths.path(workdir) / name / TEST_FILE)
    if test is None:
      continue
    depth, latent = RUNS[name]['depth'], RUNS[name]['latent']
    metrics = writers.read_jsonl(paths.path(workdir) / name / 'metrics.jsonl')
    train_pts = [(r['step'] * per_step, r['loss']) for r in metrics if r['kind'] == 'train']
    val_pts = [(r['step'] * per_step, v) for r in metrics if r['kind'] == 'eval'
               for k, v in r.items() if k.endswith('/loss') and k.count('/') == 1]
    model_config = run_config(config, name)
    model = build.create_model(model_config)
    shapes = jax.eval_shape(model.init, jax.random.key(0),
                            jax.ShapeDtypeStruct(build.input_shape(model_config), 'float32'))
    test_row = _model_row(test['records'], build.model_label(model_config))
    rows.append({'model': name, 'depth': depth, 'latent': latent,
                 'parameters': sum(x.size for x in jax.tree.leaves(shapes[contract.PARAMS])),
                 'train_loss': train_pts[-1][1] if train_pts else float('nan'),
                 'val_loss': val_pts[-1][1] if val_pts else float('nan'),
                 'test_loss': test_row['loss'], 'test_psnr': test_row['psnr'],
                 'test_ssim': test_row['ssim']})
    curves.append({'label': f'DAE_{depth}_{latent}', 'depth': depth, 'latent': latent,
                   'train': train_pts, 'val': val_pts})
  return rows, curves


def _fmt(column: str, value) -> str:
  if column in ('train_loss', 'val_loss', 'test_loss'):
    return f'{value:.5f}'
  if column in ('test_psnr', 'test_ssim'):
    return f'{value:.2f}' if column == 'test_psnr' else f'{value:.4f}'
  return f'{value:,}' if isinstance(value, int) and column == 'parameters' else str(value)


def write_table(workdir: str, rows: list[dict]) -> None:
  """grid.csv (full precision) and grid.md (rounded), one row per finished model."""
  paths.write_text(paths.path(workdir) / 'grid.csv',
                   paths.csv_text(({c: r[c] for c in COLUMNS} for r in rows), COLUMNS))
  lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
  lines += ['| ' + ' | '.join(_fmt(c, r[c]) for c in COLUMNS) + ' |' for r in rows]
  paths.write_text(paths.path(workdir) / 'grid.md', '\n'.join(lines) + '\n')


def run_grid(config, workdir: str, models: list[str]) -> list[dict]:
  """Trains every model of `models` in turn, then writes the figures and the table."""
  if not config.data.get('test', ''):
    raise UserError('the config has no data.test (the test split to score each model on); '
                    'use configs/mnist_dae.py')
  root = paths.path(workdir)
  root.mkdir(parents=True, exist_ok=True)
  test_set = None  # read once, for every model that needs it
  for i, name in enumerate(models):
    model_config = run_config(config, name)
    if is_finished(model_config, root / name):
      logging.info('grid: %s is finished, skipped', name)
      continue
    logging.info('grid: %s (%d of %d)', name, i + 1, len(models))
    if test_set is None:
      test_set = load_test_set(config)
    run_model(model_config, str(root / name), test_set)
  rows, curves = collect(config, workdir, models)
  loss_label = f'{config.loss.upper()} loss (mean per pixel, images in [0, 1])'
  grid_plots.loss_curves(root / 'loss_curves.png', curves, loss_label)
  grid_plots.test_loss_bars(root / 'test_loss.png', rows, loss_label)
  write_table(workdir, rows)
  logging.info('grid table:\n%s', (root / 'grid.md').read_text())
  return rows


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')

  def run():
    if FLAGS.config is None:
      raise UserError('--config is required, e.g. --config=configs/mnist_dae.py:quick')
    if not FLAGS.workdir:
      raise UserError('--workdir is required')
    models = select_models(FLAGS.models)
    command.quiet_library_logs()
    run_grid(FLAGS.config, FLAGS.workdir, models)
  command.run_reporting_errors(run)


if __name__ == '__main__':
  define_flags()
  app.run(main, flags_parser=command.parse_flags)
