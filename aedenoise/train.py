"""Training: the jitted, sharded train step and the loop around it.

The loop is `train_and_evaluate(config, workdir)`: build, resume if `workdir` holds a checkpoint,
train with metrics accumulating on device (one host sync per log interval), checkpoint, evaluate.
The step sees one global batch of uint8 images; `jax.jit` partitions it over the ('data',) mesh.
Its randomness is `fold_in(key(seed), step)`, so noise depends only on (seed, step): resuming
replays exactly, and 1 or N devices draw the same noise.
"""
from __future__ import annotations

import functools
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging
from flax.training import train_state

import input_pipeline
from aedenoise import augment, checkpoints, degradations, evaluate, losses, metrics, parallel, reporting
from aedenoise.errors import TrainingDiverged, UserError
from aedenoise.models import MODELS
from aedenoise.writers import MetricWriter, Progress, log_progress

TrainState = train_state.TrainState


# ----------------------------------------------------------------------------------- building


def resolve_conv_impl(name: str) -> str:
  if name == 'auto':
    return 'matmul' if jax.default_backend() == 'cpu' else 'lax'
  if name not in ('matmul', 'lax'):
    raise UserError(f"conv_impl must be 'auto', 'matmul' or 'lax', got {name!r}")
  return name


def create_model(config):
  if config.model not in MODELS:
    raise UserError(f'unknown model {config.model!r}; known: {", ".join(MODELS)}')
  return MODELS[config.model](conv_impl=resolve_conv_impl(config.conv_impl))


def input_shape(config, batch: int = 1) -> tuple[int, ...]:
  return (batch, *config.data.image_size, config.data.channels)


def learning_rate_schedule(config) -> optax.Schedule:
  lr, warmup, total = config.learning_rate, config.warmup_steps, config.num_train_steps
  if config.lr_schedule == 'constant':
    main = optax.constant_schedule(lr)
  elif config.lr_schedule == 'cosine':
    main = optax.cosine_decay_schedule(lr, max(total - warmup, 1))
  else:
    raise UserError(f"lr_schedule must be 'constant' or 'cosine', got {config.lr_schedule!r}")
  if warmup:
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), main], [warmup])
  return main


def create_optimizer(config) -> optax.GradientTransformation:
  schedule = learning_rate_schedule(config)
  if config.optimizer == 'adam':
    tx = optax.adam(schedule)
  elif config.optimizer == 'sgd':
    tx = optax.sgd(schedule, momentum=config.momentum, nesterov=True)
  else:
    raise UserError(f"optimizer must be 'adam' or 'sgd', got {config.optimizer!r}")
  if config.grad_clip_norm:
    tx = optax.chain(optax.clip_by_global_norm(config.grad_clip_norm), tx)
  return tx


def create_train_state(config, model, tx, sharding) -> TrainState:
  """Parameters initialised from `config.seed`, created directly with `sharding`."""
  def init(key):
    params = model.init(key, jnp.zeros(input_shape(config), jnp.float32))['params']
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx)
  return jax.jit(init, out_shardings=sharding)(jax.random.key(config.seed))


def validate(config) -> None:
  """Fails early, with one line, on config values that would fail later."""
  if config.loss not in losses.LOSSES:
    raise UserError(f'unknown loss {config.loss!r}; known: {", ".join(losses.LOSSES)}')
  if config.loss == 'bce' and create_model(config).output_activation != 'sigmoid':
    raise UserError(f'loss bce needs a sigmoid-output model; {config.model} is not')
  for field in ('batch_size', 'num_train_steps', 'log_every_steps', 'checkpoint_every_steps'):
    if int(config[field]) <= 0:
      raise UserError(f'{field} must be positive, got {config[field]}')
  if int(config.data.channels) not in (1, 3):
    raise UserError(f'data.channels must be 1 or 3, got {config.data.channels}')
  degrade = degradations.build(degradations.resolve(config.degradation))
  shape = input_shape(config, 2)
  out = jax.eval_shape(degrade, jax.random.key(0), jax.ShapeDtypeStruct(shape, jnp.float32))
  if out.shape != shape:
    raise UserError(f'the degradation turns {shape[1:]} images into {out.shape[1:]}, but the models '
                    'keep the size; resize back (e.g. the seed004_sr_x2_nni preset)')
  augment.build(config.get('augment'), config.data.image_size, int(config.data.channels))


# ----------------------------------------------------------------------------------- the step


def train_step(state: TrainState, batch: jax.Array, *, model, prepare: augment.Prepare, loss_fn,
               noise_key: jax.Array) -> tuple[TrainState, dict[str, jax.Array]]:
  """One update on a global uint8 batch [B, H, W, C] (pairs: [B, H, W, 2C]); returns per-step
  metrics on device. `prepare` augments and degrades (augment.make_prepare)."""
  noisy, clean = prepare(jax.random.fold_in(noise_key, state.step), batch)

  def loss_of(params):
    outputs = model.apply({'params': params}, noisy)
    return loss_fn(outputs, clean, model.output_activation).mean(), outputs

  (loss, outputs), grads = jax.value_and_grad(loss_of, has_aux=True)(state.params)
  grad_norm = optax.tree.norm(grads)
  updated = state.apply_gradients(grads=grads)
  finite = (jnp.isfinite(loss) & jnp.isfinite(grad_norm)
            & jnp.isfinite(optax.tree.norm(updated.params)))
  # A non-finite step leaves the state as it was; the loop stops at its next sync point, so no
  # checkpoint ever holds NaN parameters.
  new_state = jax.tree.map(lambda new, old: jnp.where(finite, new, old), updated, state)
  restored = losses.ACTIVATIONS[model.output_activation](outputs)
  psnr, ssim = metrics.psnr_ssim(restored, clean)
  return new_state, {'loss': loss, 'psnr': psnr.mean(), 'ssim': ssim.mean(),
                     'grad_norm': grad_norm, 'finite': finite}


def make_train_step(config, model, mesh):
  """`train_step` for this config, jitted over `mesh`: state replicated and donated, batch sharded."""
  replicated = parallel.replicated(mesh)
  return jax.jit(
      functools.partial(train_step, model=model,
                        prepare=augment.make_prepare(
                            degradations.build(degradations.resolve(config.degradation)),
                            config.get('augment'), config.data.image_size,
                            int(config.data.channels), input_pipeline.is_paired(config.data.train)),
                        loss_fn=losses.LOSSES[config.loss],
                        noise_key=jax.random.fold_in(jax.random.key(config.seed), 1)),
      in_shardings=(replicated, parallel.batch_sharding(mesh)),
      out_shardings=(replicated, replicated), donate_argnums=(0,))


def summarize(pending: list[dict[str, jax.Array]]) -> dict[str, float]:
  """Means over the steps since the last log point: the one host sync of a log interval."""
  values = jax.device_get(pending)
  out = {k: float(np.mean([v[k] for v in values])) for k in values[0] if k != 'finite'}
  out['nonfinite_steps'] = int(sum(not v['finite'] for v in values))
  return out


# ----------------------------------------------------------------------------------- the loop


def _save_config(config, workdir: str) -> None:
  with open(os.path.join(workdir, 'config.json'), 'w') as f:
    f.write(config.to_json_best_effort(indent=2))


def _raise_diverged(step: int, checkpointer: checkpoints.Checkpointer) -> None:
  last = checkpointer.latest_step()
  kept = f'last good checkpoint: step {last}' if last is not None else 'no checkpoint was saved'
  raise TrainingDiverged(f'loss became NaN or Inf by step {step}; stopped ({kept}). Lower '
                         f'learning_rate or set grad_clip_norm, then run again to resume.')


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains (resuming from `workdir` if it holds a checkpoint) and evaluates at the end.

  Returns the final evaluation records and the last logged training metrics.
  """
  validate(config)
  main_process = parallel.is_main_process()
  mesh = parallel.create_mesh()
  parallel.check_batch_size(config.batch_size, mesh)
  replicated, batch_sharding = parallel.replicated(mesh), parallel.batch_sharding(mesh)

  model = create_model(config)
  state = create_train_state(config, model, create_optimizer(config), replicated)
  meta = checkpoints.describe(config.model, state.params)
  checkpointer = checkpoints.Checkpointer(workdir, keep=config.keep_checkpoints)
  restored = checkpointer.restore(state, meta)
  if restored is not None:
    state = restored
    logging.info('resumed from %s at step %d', checkpointer.directory, int(state.step))
  start = int(jax.device_get(state.step))

  os.makedirs(workdir, exist_ok=True)
  writer = MetricWriter(workdir, enabled=main_process)
  writer.truncate_after(start)
  if main_process:
    _save_config(config, workdir)
  logging.info('model %s: %s trainable parameters; %d devices, global batch %d',
               config.model, f"{meta['trainable_parameters']:,}", jax.device_count(),
               config.batch_size)

  eval_set = input_pipeline.load_eval_set(config)
  evaluator = evaluate.Evaluator(model, config, mesh)
  step_fn = make_train_step(config, model, mesh)

  last_logged: dict[str, float] = {}
  if start < config.num_train_steps:
    batches = input_pipeline.create_train_iterator(
        config, start_step=start, put=lambda b: parallel.to_global(b, batch_sharding),
        process_index=jax.process_index(), process_count=jax.process_count())
    progress = Progress(start, config.num_train_steps, config.batch_size)
    pending: list[dict[str, jax.Array]] = []
    reported_skips = 0
    try:
      for step in range(start + 1, config.num_train_steps + 1):
        state, step_metrics = step_fn(state, next(batches))
        pending.append(step_metrics)
        is_last = step == config.num_train_steps
        save_now = step % config.checkpoint_every_steps == 0 or is_last
        if step % config.log_every_steps == 0 or is_last:
          scalars = summarize(pending)
          pending = []
          if scalars.pop('nonfinite_steps'):
            _raise_diverged(step, checkpointer)
          scalars.update(progress.rates(step))
          scalars['learning_rate'] = float(learning_rate_schedule(config)(step - 1))
          writer.write(step, 'train', scalars)
          log_progress(progress.line(step, scalars))
          last_logged = scalars
          if len(batches.skipped) > reported_skips:
            reported_skips = len(batches.skipped)
            logging.warning('skipped %d unreadable image file(s) so far, e.g. %s', reported_skips,
                            '; '.join(f'{p} ({r})' for p, r in list(batches.skipped.items())[:3]))
        elif save_now and not all(jax.device_get([m['finite'] for m in pending])):
          _raise_diverged(step, checkpointer)
        if save_now:
          checkpointer.save(state, meta)
        if config.eval_every_steps and step % config.eval_every_steps == 0 and not is_last:
          records, _ = evaluator.run(state.params, eval_set)
          writer.write(step, 'eval', evaluate.scalars(records))
    finally:
      batches.close()
      checkpointer.wait()
  else:
    logging.info('workdir already holds a checkpoint at step %d >= num_train_steps', start)

  records, samples = evaluator.run(state.params, eval_set)
  writer.write(int(jax.device_get(state.step)), 'eval', evaluate.scalars(records))
  if main_process:
    reporting.write_evaluation(os.path.join(workdir, 'eval'), eval_set.name, records, samples,
                               config.model)
    reporting.plot_curves(writer.path, os.path.join(workdir, 'curves.png'))
  logging.info('evaluation on %s:\n%s', eval_set.name, reporting.markdown_table(records))
  writer.close()
  checkpointer.close()
  return {'eval': records, 'train': last_logged}


def evaluate_checkpoint(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
  """`--mode=eval`: evaluates the latest checkpoint in `workdir` on `config.data.eval`."""
  validate(config)
  mesh = parallel.create_mesh()
  model = create_model(config)
  state = create_train_state(config, model, create_optimizer(config), parallel.replicated(mesh))
  checkpointer = checkpoints.Checkpointer(workdir, keep=config.keep_checkpoints)
  restored = checkpointer.restore(state, checkpoints.describe(config.model, state.params))
  checkpointer.close()
  if restored is None:
    raise UserError(f'no checkpoint in {os.path.join(workdir, "checkpoints")}; train first')
  eval_set = input_pipeline.load_eval_set(config)
  records, samples = evaluate.Evaluator(model, config, mesh).run(restored.params, eval_set)
  if parallel.is_main_process():
    reporting.write_evaluation(os.path.join(workdir, 'eval'), eval_set.name, records, samples,
                               config.model)
  print(reporting.markdown_table(records))
  print(json.dumps({'dataset': eval_set.name, 'step': int(jax.device_get(restored.step))}))
  return records
