"""What a study is: its runs (ordinary configs, one workdir each), how a finished run is scored,
the paper's published numbers, its figures, and the protocol its report states. One module per
study defines one `Study`; `aedenoise/study.py` runs any of them the same way.

Budgets: `smoke` checks the plumbing end to end in minutes (a few steps per run, a tiny
evaluation); `reduced` is the best reproduction a 2-core CPU affords (each study's cost in its
docstring); `full` is the paper's own recipe, meant for an accelerator.
"""
from __future__ import annotations

import copy
import dataclasses
import os
from typing import Any

from aedenoise import build, input_pipeline
from aedenoise.errors import UserError
from aedenoise.evaluation import evaluate, reporting
from aedenoise.restoration import inference
from aedenoise.runtime import parallel, paths
from aedenoise.training import importing, train

BUDGETS = ('smoke', 'reduced', 'full')
SCORES = 'study_scores.json'  # in a run's workdir: its scores, which also mark it finished


@dataclasses.dataclass(frozen=True)
class Paper:
  """One number the paper publishes: `metric` of `model` on `row` (e.g. a noise type)."""
  model: str
  row: str
  metric: str
  value: float


@dataclasses.dataclass
class Run:
  """One training run of a study: `config` trained into `<study workdir>/<name>`."""
  name: str
  model: str  # the study's name for the model: the tables' model column
  config: Any
  seed: int = 0
  weights: str = ''  # a PyTorch state dict imported instead of training (the authors' weights)
  extra: dict = dataclasses.field(default_factory=dict)  # what the study's scoring needs besides


class Study:
  """A study: override `runs`, `score` and, where the paper has figures, `figures`."""
  name = ''
  title = ''  # authors, title, year
  paper: tuple[Paper, ...] = ()
  metrics: tuple[str, ...] = ('psnr', 'ssim')  # in the order the report's columns show them

  def runs(self, budget: str, data_dir: str) -> list[Run]:
    raise NotImplementedError

  def train(self, run: Run, workdir: str) -> None:
    """Trains the run into `workdir` (resuming), or imports its weights there."""
    if not run.weights:
      train.train_and_evaluate(run.config, workdir)
    elif not (paths.path(workdir) / 'checkpoints').exists():
      importing.import_torch_weights(run.config, workdir, run.weights)

  def score(self, run: Run, workdir: str) -> list[dict]:
    """{'model', 'row', 'metric', 'value'} records of a finished run."""
    raise NotImplementedError

  def claims(self) -> tuple:
    """The paper's claims as checks over the report's records (aedenoise/studies/claims.py)."""
    return ()

  def figures(self, root: str, runs: list[Run]) -> list[str]:
    """Writes the study's figures under `root` from its finished runs; returns their names."""
    del root, runs
    return []

  def summary(self, rows: list[dict]) -> str:
    """A compact markdown table of the paper's headline numbers, shown above every number."""
    del rows
    return ''

  def protocol(self, budget: str) -> str:
    """What data, budget and protocol produced the report, and how they differ from the paper's."""
    del budget
    return ''


def dataset(data_dir: str, name: str, study: str) -> str:
  """The folder `data_dir/name`; one line naming the flag when it is not there."""
  path = os.path.join(data_dir, name)
  if not os.path.isdir(path):
    raise UserError(f'study {study} reads {name}/ under --data_dir={data_dir}, which does not '
                    f'exist; point --data_dir at the folder holding the datasets')
  return path


def with_fields(config, fields: dict):
  """A copy of `config` with {'field.sub': value} set."""
  out = copy.deepcopy(config)
  out.update_from_flattened_dict(fields)
  return out


def evaluate_on(config, workdir: str, spec: str, split: str, limit: int = 0,
                name: str = '') -> tuple[list[dict], dict]:
  """The newest checkpoint in `workdir` scored on `split` of `spec` with the config's evaluation
  (degradation rows with fixed keys); also written to `workdir/eval/<name>.*`. Returns the records
  and the image samples (degraded, restored, clean) of each row."""
  test = with_fields(config, {'data.eval': spec, 'data.eval_split': split, 'data.num_eval': limit})
  mesh = parallel.create_mesh()
  task = build.task(test)
  loaded = inference.load_model(task, workdir, mesh)
  eval_set = input_pipeline.load_eval_set(test)
  evaluator = evaluate.Evaluator(task, mesh)
  records, samples = evaluator.run(loaded.variables, eval_set)
  if parallel.is_main_process():
    reporting.write_evaluation(paths.path(workdir) / 'eval', name or f'{eval_set.name}_{split}',
                               records, samples, evaluator.method, reporting.scored_on(test))
  return records, samples


def model_rows(records: list[dict], method: str, model: str,
               metrics=('psnr', 'ssim')) -> list[dict]:
  """Study records, under `model`, of an evaluation's rows of `method` (the model's label)."""
  return [{'model': model, 'row': r['degradation'], 'metric': m, 'value': float(r[m])}
          for r in records if r['method'] == method for m in metrics]


def input_rows(records: list[dict], metrics=('psnr', 'ssim')) -> list[dict]:
  """Study records of the degraded input's rows, under the model name 'noisy input'."""
  return [{'model': 'noisy input', 'row': r['degradation'], 'metric': m, 'value': float(r[m])}
          for r in records if r['method'] == evaluate.INPUT for m in metrics]
