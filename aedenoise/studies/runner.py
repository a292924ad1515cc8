"""A study run whole: every run trained and scored, then its table beside the paper's and its
figures (the command line is aedenoise/study.py).

Each run is an ordinary workdir `W/<run>/` (resumable; usable with --mode=eval, restore, export).
A run that has finished and been scored (`W/<run>/study_scores.json`) is skipped, so running the
same command again resumes an interrupted study and, once all are done, only rewrites the reports:
`W/study.json`, `W/study.csv`, `W/study.md` and the study's figures. Progress, with the time left
over the whole study, is logged before each run. Studies: aedenoise/studies/.
"""
from __future__ import annotations

import json
import os
import time

from absl import logging

from aedenoise.errors import UserError
from aedenoise.runtime import paths
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.studies import STUDIES, claims, definition, report

SPEC = 'study_spec.json'  # in the study's workdir: which study and budget it holds


def get_study(name: str) -> definition.Study:
  if name not in STUDIES:
    raise UserError(f'unknown study {name!r}; known: {", ".join(STUDIES)} (--list)')
  return STUDIES[name]


def claim(root: str, study: str, budget: str) -> bool:
  """Records which study and budget `root` holds (True when this call wrote the record); UserError
  if it holds another."""
  path = paths.path(root) / SPEC
  wanted = {'study': study, 'budget': budget}
  if path.exists():
    try:
      held = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
      raise UserError(f'cannot read {path}: {e}') from None
    if held != wanted:
      raise UserError(f'{root} holds study {held.get("study") if isinstance(held, dict) else held!r}'
                      f' at budget {held.get("budget") if isinstance(held, dict) else "?"!r}, not '
                      f'{study!r} at {budget!r}; use another --workdir')
    return False
  workdir_lib.check_writable(root)
  paths.write_text(path, json.dumps(wanted) + '\n')
  return True


def unclaim(root: str) -> None:
  """Takes back the record of a study that was refused before any of its runs wrote anything,
  so that the workdir is as it was (and takes another budget)."""
  if paths.is_local(root) and os.path.isdir(root) and os.listdir(root) == [SPEC]:
    os.remove(os.path.join(root, SPEC))


def finished_scores(run: definition.Run, workdir: str) -> list[dict] | None:
  """The scores of a run that finished its training, else None."""
  path = paths.path(workdir) / definition.SCORES
  if not path.exists():
    return None
  try:
    saved = json.loads(path.read_text())
    done = saved['step'] >= run.config.num_train_steps and isinstance(saved['scores'], list)
  except (OSError, ValueError, TypeError, KeyError) as e:  # half a file, or another one's
    logging.warning('%s does not read (%s); the run is scored again', path, e)
    return None
  return saved['scores'] if done else None


def _duration(seconds: float) -> str:
  minutes = int(round(seconds / 60))
  return f'{minutes // 60}h{minutes % 60:02d}m' if minutes >= 60 else f'{minutes}m'


def estimate_left(took: list[tuple[definition.Run, float]],
                  pending: list[definition.Run]) -> float | None:
  """Seconds the pending runs should take, from the finished ones: imported runs (no training)
  at their mean wall time, trained runs at the finished trained runs' seconds per step (scoring
  included). None until both kinds still pending have an example."""
  imported = [t for r, t in took if r.weights]
  trained = [(r.config.num_train_steps, t) for r, t in took if not r.weights]
  left = 0.0
  for run in pending:
    if run.weights:
      if not imported:
        return None
      left += sum(imported) / len(imported)
    else:
      if not trained:
        return None
      left += run.config.num_train_steps * sum(t for _, t in trained) / sum(
          s for s, _ in trained)
  return left


def run_study(study: definition.Study, root: str, budget: str, data_dir: str) -> list[dict]:
  """Trains and scores every unfinished run, then writes the reports; returns the records."""
  runs = study.runs(budget, data_dir)
  created = workdir_lib.first_missing(root)
  if claim(root, study.name, budget):
    try:
      return _run_all(study, runs, root, budget)
    except UserError:  # refused before a run wrote anything: the workdir is left as it was
      unclaim(root)
      workdir_lib.remove_if_empty(root, created)
      raise
  return _run_all(study, runs, root, budget)


def _run_all(study: definition.Study, runs: list[definition.Run], root: str,
             budget: str) -> list[dict]:
  scores: list[dict] = []
  pending = [r for r in runs if finished_scores(r, os.path.join(root, r.name)) is None]
  took: list[tuple[definition.Run, float]] = []
  for i, run in enumerate(runs):
    workdir = os.path.join(root, run.name)
    done = finished_scores(run, workdir)
    if done is None:
      eta = estimate_left(took, pending)
      logging.info('study %s: run %d of %d, %s (%d steps)%s', study.name, i + 1, len(runs),
                   run.name, run.config.num_train_steps,
                   f'; about {_duration(eta)} left' if eta is not None else '')
      started = time.monotonic()
      study.train(run, workdir)
      done = study.score(run, workdir)
      try:
        paths.write_text(paths.path(workdir) / definition.SCORES, json.dumps(
            {'step': run.config.num_train_steps, 'scores': done}, indent=2) + '\n')
      except OSError as e:
        raise UserError(f'cannot write {e.filename or workdir}: {e.strerror or e}; the run\'s '
                        f'checkpoint is kept, and the same command scores it again') from None
      took.append((run, time.monotonic() - started))
      pending.remove(run)
    scores += done
  rows = report.records(study, scores)
  decided = claims.evaluate(study.name, study.claims(), rows)
  try:
    report.write(root, study, rows, study.protocol(budget), decided)
    figures = study.figures(root, runs)
  except OSError as e:
    raise UserError(f'cannot write {e.filename or root}: {e.strerror or e}; every run is kept, '
                    f'and the same command writes the reports again') from None
  logging.info('study %s: %s written into %s%s', study.name,
               'study.md, .json, .csv, claims.json', root,
               f' with {", ".join(figures)}' if figures else '')
  return rows
