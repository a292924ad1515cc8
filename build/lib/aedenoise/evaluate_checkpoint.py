"""`--mode=eval`: the newest checkpoint of a workdir scored on `config.data.eval`, on crops
(aedenoise/evaluate.py) or whole images (`config.eval.whole_images`, aedenoise/evaluate_whole.py),
into `W/eval/<dataset>_step<N>[_whole].*` so it never replaces the training's own evaluation."""
from __future__ import annotations

import json

import input_pipeline
from aedenoise import (build, evaluate, evaluate_whole, inference, parallel, paths, reporting,
                       validation)
from aedenoise.errors import UserError


def run(config, workdir: str) -> list[dict]:
  validation.validate(config)
  mesh = parallel.create_mesh()
  loaded = inference.load_model(config, workdir, mesh)
  if config.eval.get('whole_images', False):
    name, records = evaluate_whole.run(loaded.model, loaded.variables, config, mesh)
    samples = None
  else:
    eval_set = input_pipeline.load_eval_set(config)
    evaluator = evaluate.Evaluator(loaded.model, config, mesh)
    records, samples = evaluator.run(loaded.variables, eval_set)
    name = eval_set.name
  print(reporting.markdown_table(records))  # before writing: a failed write loses no result
  print(json.dumps({'dataset': name, 'step': loaded.step}))
  name = f'{name}_step{loaded.step}' + ('_whole' if samples is None else '')
  if parallel.is_main_process():
    try:
      reporting.write_evaluation(paths.path(workdir) / 'eval', name, records, samples,
                                 build.model_label(config), reporting.scored_on(config))
    except OSError as e:
      where = e.filename or f'{workdir}/eval'
      raise UserError(f'cannot write {where}: {e.strerror or e} (the table is printed above; '
                      f'the files written before it are whole)') from None
  return records
