"""Training: the jitted, sharded train step and the loop around it.

The loop is `train_and_evaluate(config, workdir)`: build, resume if `workdir` holds a checkpoint,
train with metrics accumulating on device (one host sync per log interval), checkpoint, evaluate.
The step sees one global batch (a dict of uint8 arrays); `jax.jit` partitions it over the ('data',)
mesh. Its randomness is `fold_in(key(seed), step)`, so noise, dropout and sampling depend only on
(seed, step): resuming replays exactly, and 1 or N devices draw the same numbers. The step knows no
model family: it passes `train=True`, the model's mutable collections and its rngs, and sums the
loss terms the config names (aedenoise/losses.py); BatchNorm statistics are over the global batch.
"""
from __future__ import annotations

import functools
import json
import os
import signal
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
import ml_collections
import numpy as np
import optax
from absl import logging

import input_pipeline
from aedenoise import augment, checkpoints, degradations, evaluate, metrics, parallel, paths
from aedenoise import reporting
from aedenoise import workdir as workdir_lib
from aedenoise.errors import Interrupted, TrainingDiverged, UserError
from aedenoise.state import (TrainState, compute_dtype, create_model, create_optimizer,
                             create_train_state, init_variables, learning_rate_schedule, objective,
                             validate)
from aedenoise.writers import MetricWriter, Progress, log_progress

MODEL_SALT = 0x30DE1  # separates the model's rngs (dropout, sampling) from the degradation's key


# ----------------------------------------------------------------------------------- the step


def _cast(tree, dtype):
  return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x,
                      tree)


def train_step(state: TrainState, batch: dict, *, model, prepare: augment.Prepare, loss_fn,
               noise_key: jax.Array, dtype=jnp.float32, ema_decay: float = 0.0,
               micro_batch_size='auto', mesh=None) -> tuple[TrainState, dict[str, jax.Array]]:
  """One update on a global batch {'target': uint8 [B,H,W,C], 'input'?: ...}; returns per-step
  metrics on device. `prepare` augments and degrades (augment.make_prepare). Parameters, loss and
  metrics stay float32; `dtype` is the compute type of the model's forward and backward pass.
  The batch may be split into micro-batches (`parallel.micro_batches`) whose gradients are
  averaged: the same update up to float summation order (dropout and sampling draw per
  micro-batch, from the step's key folded with the micro-batch's index)."""
  key = jax.random.fold_in(noise_key, state.step)
  inputs, target = prepare(key, batch)
  rngs = dict(zip(('dropout', 'sample'), jax.random.split(jax.random.fold_in(key, MODEL_SALT))))

  def loss_of(params, inputs, target, rngs):
    variables = {'params': _cast(params, dtype)}
    if state.batch_stats:
      variables['batch_stats'] = state.batch_stats
    outputs, updates = model.apply(variables, inputs.astype(dtype), train=True, rngs=rngs,
                                   mutable=['batch_stats', 'losses'])
    outputs = outputs.astype(jnp.float32)
    loss, terms = loss_fn(outputs, target, updates.get('losses'))
    return loss, (outputs, updates.get('batch_stats', state.batch_stats), terms)

  def pass_(params, inputs, target, rngs):
    (loss, (outputs, batch_stats, terms)), grads = jax.value_and_grad(loss_of, has_aux=True)(
        params, inputs, target, rngs)
    psnr, ssim = metrics.psnr_ssim(loss_fn.restore(outputs), target)
    return (loss, terms, grads), (batch_stats, psnr, ssim)

  devices = mesh.devices.size if mesh is not None else 1
  n = parallel.micro_batches(micro_batch_size, target.shape[0], devices, bool(state.batch_stats))
  if n == 1:
    (loss, terms, grads), (batch_stats, psnr, ssim) = pass_(state.params, inputs, target, rngs)
  else:
    (loss, terms, grads), (psnr, ssim) = _accumulate(pass_, state.params, inputs, target, rngs, n,
                                                      mesh)
    batch_stats = state.batch_stats
  grad_norm = optax.tree.norm(grads)
  updated = state.apply_gradients(grads=grads, batch_stats=batch_stats)
  if ema_decay:
    updated = updated.replace(ema_params=jax.tree.map(
        lambda e, p: ema_decay * e + (1.0 - ema_decay) * p, state.ema_params, updated.params))
  finite = (jnp.isfinite(loss) & jnp.isfinite(grad_norm)
            & jnp.isfinite(optax.tree.norm(updated.params)))
  # A non-finite update is skipped (as optax.apply_if_finite would, without changing what the
  # optimizer state holds): parameters, statistics and moments stay; the step still advances, so
  # the next step sees new data and new noise. The loop counts skips against a budget.
  skipped = state.replace(step=updated.step)
  new_state = jax.tree.map(lambda new, old: jnp.where(finite, new, old), updated, skipped)
  out = {'loss': loss, 'psnr': psnr.mean(), 'ssim': ssim.mean(), 'grad_norm': grad_norm,
         'finite': finite}
  if len(terms) > 1:  # a composite loss: each term by name
    out.update({f'loss_{name}': value for name, value in terms.items()})
  return new_state, out


def _accumulate(pass_, params, inputs, target, rngs, n: int, mesh):
  """`pass_` over n micro-batches in a `lax.scan`, its loss, terms and gradients averaged (each is
  a mean over equally many images).

  Each device sums over its own rows of the micro-batches, and the sums meet once after the loop,
  as one flat vector: summed over whole micro-batches inside the loop, the gradients would be
  all-reduced once per micro-batch, and between processes every reduced array costs a round
  trip, which for these models costs more than the compute."""
  xs, ts = parallel.split_micro(inputs, n, mesh), parallel.split_micro(target, n, mesh)
  zero = jax.tree.map(jnp.zeros_like, jax.eval_shape(lambda: pass_(params, xs[0], ts[0], rngs)[0]))
  _, unravel = ravel_pytree(zero)

  def on_device(index, shared, xs, ts):
    params, rngs, zero = shared

    def body(total, micro):
      j, x, t = micro
      keys = {k: jax.random.fold_in(r, j) for k, r in rngs.items()}
      if index is not None:  # each device draws its own dropout and samples
        keys = {k: jax.random.fold_in(r, index) for k, r in keys.items()}
      (loss, terms, grads), (_, psnr, ssim) = pass_(params, x, t, keys)
      return jax.tree.map(jnp.add, total, (loss, terms, grads)), (psnr, ssim)

    total, metrics = jax.lax.scan(body, zero, (jnp.arange(n), xs, ts))
    return ravel_pytree(total)[0], metrics

  totals, (psnr, ssim) = parallel.on_each_device(on_device, mesh, (params, rngs, zero), xs, ts)
  return unravel(totals.sum(0) / (n * totals.shape[0])), (psnr, ssim)


def make_degrade(spec, mesh):
  """`degrade(key, images)`, image i degraded with the i-th key of `key`'s split either way.

  On the CPU a one_of runs image by image on each device's own rows, so that each image computes
  only its chosen option: vectorised, every option is computed for every image, several times the
  time on a CPU (docs/PERFORMANCE.md). Accelerators keep `vmap`."""
  if jax.default_backend() != 'cpu' or dict(spec).get('kind') != 'one_of':
    return degradations.build(spec)
  by_image = degradations.degrade_with_keys(spec, image_by_image=True)

  def degrade(key, images):
    return parallel.on_each_shard(by_image, mesh, jax.random.split(key, images.shape[0]), images)
  return degrade


def make_train_step(config, model, mesh, restarts: int = 0):
  """`train_step` for this config, jitted over `mesh`: state replicated and donated, batch sharded.
  After `restarts` stops for non-finite updates, the noise comes from another key (`data_seed`)."""
  replicated = parallel.replicated(mesh)
  prepare = augment.make_prepare(make_degrade(degradations.resolve(config.degradation), mesh),
                                 config.get('augment'), config.data.image_size,
                                 int(config.data.channels))
  return jax.jit(
      functools.partial(train_step, model=model, prepare=prepare, loss_fn=objective(config, model),
                        noise_key=jax.random.fold_in(
                            jax.random.key(data_seed(config.seed, restarts)), 1),
                        dtype=compute_dtype(config),
                        ema_decay=float(config.get('ema_decay', 0.0)),
                        micro_batch_size=config.get('micro_batch_size', 'auto'), mesh=mesh),
      in_shardings=(replicated, parallel.batch_sharding(mesh)),
      out_shardings=(replicated, replicated), donate_argnums=(0,))


def data_seed(seed: int, restarts: int) -> int:
  """The seed of data order and noise: `seed` itself, or one derived from (seed, restarts) once a
  run has stopped for non-finite updates, so resuming does not replay the same batches blindly."""
  if not restarts:
    return seed
  return int(np.random.SeedSequence([seed, restarts]).generate_state(1, np.uint32)[0])


def summarize(values: list[dict]) -> dict[str, float]:
  """Means over the finite steps of a log interval, from per-step metrics already on the host
  (NaN where every step was skipped)."""
  finite = [bool(v['finite']) for v in values]
  return {k: float(np.mean([v[k] for v, ok in zip(values, finite) if ok] or [np.nan]))
          for k in values[0] if k != 'finite'}


# ----------------------------------------------------------------------------------- the loop


def _inference(state) -> dict:
  return checkpoints.inference_variables(checkpoints.model_variables(state))


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


def _first_missing(path: str) -> str | None:
  """The outermost folder of `path` that does not exist yet (None if `path` exists)."""
  if not paths.is_local(path):
    return None if paths.path(path).is_dir() else path
  path = os.path.abspath(path)
  missing = None
  while not os.path.exists(path):
    missing, path = path, os.path.dirname(path)
  return missing


def _remove_if_empty(path: str, created: str | None) -> None:
  """Undoes the folders a run made before it failed to start (only those still empty), from
  `path` up to `created`, the outermost one it made."""
  if created is None:
    return
  if not paths.is_local(path):  # an object store: no folders to leave behind but these
    folders = [paths.path(path) / 'checkpoints', paths.path(path)]
  else:
    folders = [os.path.join(path, 'checkpoints'), os.path.abspath(path)]
    while folders[-1] != created and len(folders[-1]) > len(created):
      folders.append(os.path.dirname(folders[-1]))
  for folder in folders:
    try:
      paths.path(folder).rmdir()
    except FileNotFoundError:
      continue
    except (OSError, ValueError):  # not empty (epath raises ValueError): something lives there
      return


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains (resuming from `workdir` if it holds a checkpoint) and evaluates at the end.

  Everything that can refuse the run (config, workdir, checkpoint, data) is checked before the
  run writes anything. Returns the final evaluation records and the last logged training metrics.
  """
  validate(config)
  main_process = parallel.is_main_process()
  mesh = parallel.create_mesh()
  parallel.check_batch_size(config.batch_size, mesh)
  replicated, batch_sharding = parallel.replicated(mesh), parallel.batch_sharding(mesh)
  created = _first_missing(workdir)
  workdir_lib.check_writable(workdir)
  try:
    model = create_model(config)
    state = create_train_state(config, model, create_optimizer(config), replicated)
    meta = checkpoints.describe_state(config.model, config.optimizer, state)
    checkpointer = checkpoints.Checkpointer(workdir, keep=config.keep_checkpoints)
    restored = checkpointer.restore_train(state, meta)
    if restored is not None:
      state = restored
      logging.info('resumed from %s at step %d', checkpointer.directory, int(state.step))
    start = int(jax.device_get(state.step))
    restarts = parallel.agree(workdir_lib.read_restarts(workdir))
    if restarts:
      logging.info('resuming after %d stop(s) for non-finite updates: data order and noise use '
                   'seed %d, derived from (seed %d, restart %d)', restarts,
                   data_seed(config.seed, restarts), config.seed, restarts)
    eval_set = input_pipeline.load_eval_set(config)
    batches = None
    if start < config.num_train_steps:
      batches = input_pipeline.create_train_iterator(
          config, start_step=start, seed=data_seed(config.seed, restarts),
          put=lambda b: parallel.to_global(b, batch_sharding),
          process_index=jax.process_index(), process_count=jax.process_count(),
          state=checkpointer.restore_data(start) if restored is not None else None)
  except BaseException:
    _remove_if_empty(workdir, created)
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
               config.model, f"{meta['trainable_parameters']:,}", jax.device_count(),
               config.batch_size)
  evaluator = evaluate.Evaluator(model, config, mesh)
  last_logged: dict[str, float] = {}
  if batches is not None:
    try:
      state, last_logged = _train(config, workdir, state, meta, batches, checkpointer, writer,
                                  evaluator, eval_set,
                                  make_train_step(config, model, mesh, restarts), start)
    except BaseException:  # a stop (SIGTERM, divergence) still uploads the events of a URL workdir
      writer.close()
      raise
  else:
    logging.info('workdir already holds a checkpoint at step %d >= num_train_steps', start)

  records, samples = evaluator.run(_inference(state), eval_set)
  logging.info('evaluation on %s:\n%s', eval_set.name, reporting.markdown_table(records))
  try:
    writer.write(int(jax.device_get(state.step)), 'eval',
                 evaluate.scalars(records, evaluator.method))
    if main_process:
      reporting.write_evaluation(paths.path(workdir) / 'eval', eval_set.name, records, samples,
                                 config.model, reporting.scored_on(config))
      reporting.plot_curves(writer.path, paths.path(workdir) / 'curves.png')
  except OSError as e:
    raise UserError(f'cannot write the evaluation into {workdir}: {e.strerror or e} (the table '
                    f'is in the log above)') from None
  writer.close()
  checkpointer.close()
  return {'eval': records, 'train': last_logged}


def _train(config, workdir, state, meta, batches, checkpointer, writer, evaluator, eval_set,
           step_fn, start):
  """The training loop from `start`: logs, checkpoints, periodic evaluation; SIGINT or SIGTERM
  save a checkpoint at the step reached and stop with one line."""
  progress = Progress(start, config.num_train_steps, config.batch_size)
  pending: list[dict[str, jax.Array]] = []  # per-step metrics on device, since the last sync
  fetched: list[dict] = []  # the same on the host, since the last log point
  checked = start  # skipped updates are counted up to this step
  budget = NonfiniteBudget(int(config.get('max_nonfinite_steps', 10)), workdir, checkpointer)
  reported_skips = 0
  last_logged: dict[str, float] = {}
  in_flight = None  # with several processes: the signals they had seen at the previous step
  try:
    with workdir_lib.StopRequests() as stop:
      for step in range(start + 1, config.num_train_steps + 1):
        state, step_metrics = step_fn(state, next(batches))
        pending.append(step_metrics)
        is_last = step == config.num_train_steps
        if jax.process_count() > 1:
          # Every process must stop at the same step: each reads, one step late so as not to wait
          # for the step it has just dispatched, the signals all processes had seen a step ago.
          agreed, in_flight = in_flight, parallel.max_over_processes(stop.signal or 0)
          signum = int(agreed) if agreed is not None else 0
        else:
          signum = stop.signal
        save_now = step % config.checkpoint_every_steps == 0 or is_last or signum
        log_now = step % config.log_every_steps == 0 or is_last
        if log_now or save_now:  # the one host sync: count skipped updates before saving
          new = jax.device_get(pending)
          pending = []
          budget.add(sum(not v['finite'] for v in new), step, checked)
          checked = step
          fetched += new
        if log_now:
          scalars = summarize(fetched)
          fetched = []
          scalars.update(progress.rates(step))
          scalars['learning_rate'] = float(learning_rate_schedule(config)(step - 1))
          writer.write(step, 'train', scalars)
          log_progress(progress.line(step, scalars))
          last_logged = scalars
          if len(batches.skipped) > reported_skips:
            reported_skips = len(batches.skipped)
            logging.warning('skipped %d unreadable image file(s) so far, e.g. %s', reported_skips,
                            '; '.join(f'{p} ({r})' for p, r in list(batches.skipped.items())[:3]))
        if save_now:
          _save(checkpointer, state, meta, wait=bool(signum), data=batches.get_state())
        if signum:
          raise Interrupted(f'stopped by {signal.Signals(signum).name} at step {step}; its '
                            f'checkpoint is saved: run the same command again to continue', signum)
        if config.eval_every_steps and step % config.eval_every_steps == 0 and not is_last:
          records, _ = evaluator.run(_inference(state), eval_set)
          writer.write(step, 'eval', evaluate.scalars(records, evaluator.method))
  finally:
    batches.close()
    try:
      checkpointer.wait()
    except OSError as e:
      raise UserError(f'cannot write a checkpoint in {checkpointer.directory}: {e.strerror or e}; '
                      f'the newest complete checkpoint is step {checkpointer.latest_step()}'
                      ) from None
  return state, last_logged


def restore_model(config, workdir: str, mesh):
  """(model, step, inference variables) of the newest checkpoint in `workdir`, read alone: the
  optimizer the config names does not matter. UserError if there is none."""
  model = create_model(config)
  shapes = jax.eval_shape(functools.partial(init_variables, config, model))
  repl = parallel.replicated(mesh)
  abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=repl),
                          dict(shapes))
  meta = checkpoints.describe(config.model, {k: v for k, v in abstract.items()})
  checkpointer = checkpoints.Checkpointer(workdir, keep=config.keep_checkpoints)
  try:
    step, variables = checkpointer.restore_variables(meta, abstract)
  finally:
    checkpointer.close()
  if variables is None:
    raise UserError(f'no checkpoint in {paths.path(workdir) / "checkpoints"}; train first')
  return model, step, checkpoints.inference_variables(variables)


def evaluate_checkpoint(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
  """`--mode=eval`: evaluates the newest checkpoint in `workdir` on `config.data.eval`."""
  validate(config)
  mesh = parallel.create_mesh()
  model, step, variables = restore_model(config, workdir, mesh)
  if config.eval.get('whole_images', False):
    from aedenoise import evaluate_whole  # pylint: disable=g-import-not-at-top
    name, records = evaluate_whole.run(model, variables, config, mesh)
    samples = None
  else:
    eval_set = input_pipeline.load_eval_set(config)
    evaluator = evaluate.Evaluator(model, config, mesh)
    records, samples = evaluator.run(variables, eval_set)
    name = eval_set.name
  print(reporting.markdown_table(records))  # before writing: a failed write loses no result
  print(json.dumps({'dataset': name, 'step': step}))
  # Named by step (and whole images), so it never replaces the training's own final evaluation.
  name = f'{name}_step{step}' + ('_whole' if samples is None else '')
  if parallel.is_main_process():
    try:
      reporting.write_evaluation(paths.path(workdir) / 'eval', name, records, samples,
                                 config.model, reporting.scored_on(config))
    except OSError as e:
      raise UserError(f'cannot write the evaluation into {workdir}/eval: {e.strerror or e} (the '
                      f'table is printed above)') from None
  return records
