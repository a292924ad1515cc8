"""`--mode=eval`: the newest checkpoint of a workdir scored on `config.data.eval`, on crops
(aedenoise/evaluation/evaluate.py) or whole images (`config.eval.whole_images`,
aedenoise/evaluation/evaluate_whole.py), into `W/eval/<dataset>_step<N>[_whole].*` so it never
replaces the training's own evaluation."""
from __future__ import annotations

import json

from aedenoise import validation
from aedenoise import input_pipeline
from aedenoise.errors import UserError
from aedenoise.evaluation import evaluate, evaluate_whole, reporting
from aedenoise.restoration import inference
from aedenoise.runtime import parallel, paths


def crops(loaded, mesh) -> tuple[str, list[dict], dict | None]:
  """(dataset name, records, grid samples) on centre crops of config.data.eval."""
  eval_set = input_pipeline.load_eval_set(loaded.task.config)
  records, samples = evaluate.Evaluator(loaded.task, mesh).run(loaded.variables, eval_set)
  return eval_set.name, records, samples


def whole_images(loaded, mesh) -> tuple[str, list[dict], dict | None]:
  """(dataset name, records, no samples) on every whole image of config.data.eval's folder."""
  name, records = evaluate_whole.run(loaded.task, loaded.variables, mesh)
  return name, records, None


# The evaluators a checkpoint is scored by: one function each, sharing evaluate.py's rows.
EVALUATORS = {'crops': crops, 'whole_images': whole_images}


def run(config, workdir: str) -> list[dict]:
  task = validation.validate(config)
  mesh = parallel.create_mesh()
  loaded = inference.load_model(task, workdir, mesh)
  kind = 'whole_images' if config.eval.whole_images else 'crops'
  name, records, samples = EVALUATORS[kind](loaded, mesh)
  print(reporting.markdown_table(records))  # before writing: a failed write loses no result
  print(json.dumps({'dataset': name, 'step': loaded.step}))
  name = f'{name}_step{loaded.step}' + ('_whole' if kind == 'whole_images' else '')
  if parallel.is_main_process():
    try:
      reporting.write_evaluation(paths.path(workdir) / 'eval', name, records, samples,
                                 task.label, reporting.scored_on(config))
    except OSError as e:
      where = e.filename or f'{workdir}/eval'
      raise UserError(f'cannot write {where}: {e.strerror or e} (the table is printed above; '
                      f'the files written before it are whole)') from None
  return records
