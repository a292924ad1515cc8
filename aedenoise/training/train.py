"""Training: the loop around the jitted step (aedenoise/training/step.py).

`train_and_evaluate(config, workdir)`: build, resume if `workdir` holds a checkpoint, train with
metrics accumulating on device (one host sync per log interval), checkpoint, evaluate. SIGINT or
SIGTERM save a checkpoint at the step reached and stop with one line; non-finite updates are
skipped and counted against a budget.
"""
from __future__ import annotations

import os
import signal
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging

from aedenoise import build, optim
from aedenoise import input_pipeline
from aedenoise import validation
from aedenoise.errors import Interrupted, TrainingDiverged, UserError
from aedenoise.evaluation import evaluate, reporting
from aedenoise.models import contract
from aedenoise.runtime import checkpoints, parallel, paths
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.runtime import workdir_lock
from aedenoise.runtime.writers import MetricWriter, Progress, log_progress
from aedenoise.training import step
from aedenoise.training import train_state


def summarize(values: list[dict]) -> dict[str, float]:
  """Means over the finite steps of a log interval, from per-step metrics already on the host
  (NaN where every step was skipped)."""
  finite = [bool(v['finite']) for v in values]
  return {k: float(np.mean([v[k] for v, ok in zip(values, finite) if ok] or [np.nan]))
          for k in values[0] if k != 'finite'}


class NonfiniteBudget:
  """Counts skipped non-finite updates; past `limit` the run stops, recording the stop in the
  workdir so that the next run resumes with another data order and noise (`data_seed`)."""

  def __init__(self, limit: int, workdir: str, checkpointer: checkpoints.Checkpointer):
    self.limit, self.workdir, self.checkpointer = limit, workdir, checkpointer
    self.skipped = 0

  def add(self, skipped: int, step: int, last: int) -> None:
    if not skipped:
      return
    self.skipped += skipped
    logging.warning('skipped %d non-finite update(s) in steps %d-%d (%d of max_nonfinite_steps=%d '
                    'this run)', skipped, last + 1, step, self.skipped, self.limit)
    if self.skipped <= self.limit:
      return
    good = self.checkpointer.latest_step()
    kept = f'last good checkpoint: step {good}' if good is not None else 'no checkpoint was saved'
    restarts = workdir_lib.record_divergence(self.workdir, step) if parallel.is_main_process() else 0
    raise TrainingDiverged(
        f'loss became NaN or Inf at {self.skipped} steps by step {step}, more than '
        f'max_nonfinite_steps={self.limit}; stopped ({kept}). Lower learning_rate or set '
        f'grad_clip_norm (neither changes what a checkpoint holds); running again resumes with '
        f'another data order and noise (restart {restarts}).')


def _save(checkpointer: checkpoints.Checkpointer, state, meta: dict, wait: bool = False,
          data: dict | None = None) -> None:
  """A checkpoint, with a failed write (full disk, read-only folder) as one line."""
  try:
    checkpointer.save(state, meta, data)
    if wait:
      checkpointer.wait()
  except OSError as e:
    last = checkpointer.latest_step()
    raise UserError(f'cannot write a checkpoint in {checkpointer.directory}: '
                    f'{e.strerror or e}; the newest complete checkpoint is step {last}') from None


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains (resuming from `workdir` if it holds a checkpoint) and evaluates at the end.

  Everything that can refuse the run (config, workdir, another training holding it, checkpoint,
  data) is checked before the run writes anything. Returns the final evaluation records and the
  last logged training metrics.
  """
  task = validation.validate(config)
  mesh = parallel.create_mesh()
  parallel.check_batch_size(config.batch_size, mesh)
  workdir_lib.check_trainable(workdir)
  created = workdir_lib.first_missing(workdir)
  workdir_lib.check_writable(workdir)
  try:
    lock = workdir_lock.acquire(workdir)  # before anything reads or writes the checkpoints
  except BaseException:
    workdir_lib.remove_if_empty(workdir, created)
    raise

  def undo():  # a run that fails to start leaves the workdir as it found it
    lock.release()
    workdir_lib.remove_if_empty(workdir, created)
  with lock:
    return _train(task, workdir, mesh, undo)


def _train(task, workdir: str, mesh, undo) -> dict[str, Any]:
  """The run, under the workdir's lock; `undo()` if it fails to start."""
  config = task.config
  main_process = parallel.is_main_process()
  replicated, batch_sharding = parallel.replicated(mesh), parallel.batch_sharding(mesh)
  try:
    state = train_state.create_train_state(task, optim.create_optimizer(config), replicated)
    meta = checkpoints.describe_state(config.model, config.optimizer, state,
                                      contract.hyperparameters(task.model))
    checkpointer = checkpoints.Checkpointer(workdir, keep=config.keep_checkpoints)
    resumed = checkpointer.load_train_state(state, meta)
    if resumed is not None:
      state = resumed
      logging.info('resumed from %s at step %d', checkpointer.directory, int(state.step))
    start = int(jax.device_get(state.step))
    restarts = parallel.agree(workdir_lib.read_restarts(workdir))
    if restarts:
      logging.info('resuming after %d stop(s) for non-finite updates: data order and noise use '
                   'seed %d, derived from (seed %d, restart %d)', restarts,
                   step.data_seed(config.seed, restarts), config.seed, restarts)
    eval_set = input_pipeline.load_eval_set(config)
    batches = None
    if start < config.num_train_steps:
      batches = input_pipeline.create_train_iterator(
          config, start_step=start, seed=step.data_seed(config.seed, restarts),
          put=lambda b: parallel.to_global(b, batch_sharding),
          process_index=jax.process_index(), process_count=jax.process_count(),
          state=checkpointer.load_data_state(start) if resumed is not None else None)
  except BaseException:
    undo()
    raise

  # The run starts: from here on it writes.
  writer = MetricWriter(workdir, enabled=main_process)
  writer.truncate_after(start)
  if main_process:
    written = workdir_lib.save_config(config, workdir, start)
    if not written.endswith('config.json'):
      logging.warning('the config differs from the one in %s/config.json; kept as %s', workdir,
                      os.path.basename(written))
  logging.info('model %s: %s trainable parameters; %d devices, global batch %d',
               task.label, f"{meta['trainable_parameters']:,}", jax.device_count(),
               config.batch_size)
  evaluator = evaluate.Evaluator(task, mesh)
  last_logged: dict[str, float] = {}
  if batches is not None:
    try:
      state, last_logged = run_loop(config, workdir, state, meta, batches, checkpointer, writer,
                                    evaluator, eval_set,
                                    step.make_train_step(task, mesh, restarts), start)
    except BaseException:  # a stop (SIGTERM, divergence) still uploads the events of a URL workdir
      writer.close()
      raise
  else:
    logging.info('workdir already holds a checkpoint at step %d >= num_train_steps', start)

  records, samples = evaluator.run(state.variables(), eval_set)
  logging.info('evaluation on %s:\n%s', eval_set.name, reporting.markdown_table(records))
  try:
    writer.write(int(jax.device_get(state.step)), 'eval',
                 evaluate.scalars(records, evaluator.method))
    if main_process:
      reporting.write_evaluation(paths.path(workdir) / 'eval', eval_set.name, records, samples,
                                 evaluator.method, reporting.scored_on(config))
      reporting.plot_curves(writer.path, paths.path(workdir) / 'curves.png')
  except OSError as e:
    raise UserError(f'cannot write {e.filename or workdir}: {e.strerror or e} (the evaluation '
                    f'table is in the log above; the checkpoint is saved)') from None
  writer.close()
  checkpointer.close()
  return {'eval': records, 'train': last_logged}


def run_loop(config, workdir, state, meta, batches, checkpointer, writer, evaluator, eval_set,
             step_fn, start):
  """The training loop from `start`: logs, checkpoints, periodic evaluation; SIGINT or SIGTERM
  save a checkpoint at the step reached and stop with one line."""
  progress = Progress(start, config.num_train_steps, config.batch_size)
  schedule = optim.learning_rate_schedule(config)
  pending: list[dict[str, jax.Array]] = []  # per-step metrics on device, since the last sync
  fetched: list[dict] = []  # the same on the host, since the last log point
  checked = start  # skipped updates are counted up to this step
  budget = NonfiniteBudget(int(config.max_nonfinite_steps), workdir, checkpointer)
  reported_skips = 0
  last_logged: dict[str, float] = {}
  in_flight = None  # with several processes: the signals they had seen at the previous step
  try:
    with workdir_lib.StopRequests() as stop:
      for step_number in range(start + 1, config.num_train_steps + 1):
        batch = next(batches)
        if step_number == start + 1 and 'input' in batch:  # pairs read from disk
          build.check_pairs(evaluator.method, evaluator.scale, batch['input'].shape,
                            batch['target'].shape, f'the pairs of {config.data.train}')
        state, step_metrics = step_fn(state, batch)
        if step_number == start + 1:  # the call returns once compiled, before the step has run
          progress.compiled(start)
        pending.append(step_metrics)
        is_last = step_number == config.num_train_steps
        if jax.process_count() > 1:
          # Every process must stop at the same step: each reads, one step late so as not to wait
          # for the step it has just dispatched, the signals all processes had seen a step ago.
          agreed, in_flight = in_flight, parallel.max_over_processes(stop.signal or 0)
          signum = int(agreed) if agreed is not None else 0
        else:
          signum = stop.signal
        save_now = step_number % config.checkpoint_every_steps == 0 or is_last or signum
        log_now = step_number % config.log_every_steps == 0 or is_last
        if log_now or save_now:  # the one host sync: count skipped updates before saving
          new = jax.device_get(pending)
          pending = []
          budget.add(sum(not v['finite'] for v in new), step_number, checked)
          checked = step_number
          fetched += new
        if log_now:
          scalars = summarize(fetched)
          fetched = []
          scalars.update(progress.rates(step_number))
          scalars['learning_rate'] = float(schedule(step_number - 1))
          writer.write(step_number, 'train', scalars)
          log_progress(progress.line(step_number, scalars))
          last_logged = scalars
          if len(batches.skipped) > reported_skips:
            reported_skips = len(batches.skipped)
            logging.warning('skipped %d unreadable image file(s) so far, e.g. %s', reported_skips,
                            '; '.join(f'{p} ({r})' for p, r in list(batches.skipped.items())[:3]))
        if save_now:
          _save(checkpointer, state, meta, wait=bool(signum), data=batches.get_state())
        if signum:
          raise Interrupted(f'stopped by {signal.Signals(signum).name} at step {step_number}; its '
                            f'checkpoint is saved: run the same command again to continue', signum)
        if config.eval_every_steps and step_number % config.eval_every_steps == 0 and not is_last:
          records, _ = evaluator.run(state.variables(), eval_set)
          writer.write(step_number, 'eval', evaluate.scalars(records, evaluator.method))
  finally:
    batches.close()
    try:
      checkpointer.wait()
    except OSError as e:
      raise UserError(f'cannot write a checkpoint in {checkpointer.directory}: {e.strerror or e}; '
                      f'the newest complete checkpoint is step {checkpointer.latest_step()}'
                      ) from None
  return state, last_logged
