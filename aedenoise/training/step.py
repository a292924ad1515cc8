"""The train step: one update on a global batch, jitted over the mesh.

The step sees one global batch (a dict of uint8 arrays); `jax.jit` partitions it over the ('data',)
mesh. Its randomness is `fold_in(key(seed), step)`, so noise, dropout and sampling depend only on
(seed, step): resuming replays exactly, and 1 or N devices draw the same numbers. The step knows no
model family: it calls the model through the contract (aedenoise/models/contract.py), which
carries the model's state collections and rngs, and sums the loss terms the config names
(aedenoise/losses.py); BatchNorm statistics are over the global batch.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from aedenoise import augment, degradations, methods, metrics, policy
from aedenoise.models import contract
from aedenoise.runtime import parallel
from aedenoise.training.train_state import TrainState


_METHOD_SALT = 0x5E1F  # the training method's draws, apart from the model's


def _cast(tree, dtype):
  return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x,
                      tree)


def train_step(state: TrainState, batch: dict, *, model, prepare: augment.Prepare, loss_fn,
               step_key: jax.Array, method: methods.Method = methods.METHODS['supervised'],
               dtype=jnp.float32, ema_decay: float = 0.0, micro_batch_size='auto',
               mesh=None) -> tuple[TrainState, dict[str, jax.Array]]:
  """One update on a global batch {'target': uint8 [B,H,W,C], 'input'?: ...}; returns per-step
  metrics on device. `step_key`, folded with the step, draws everything random in it: the
  augmentation and degradation (`prepare`, augment.make_prepare), dropout and sampling, and what
  the training `method` (aedenoise/methods/) draws for its loss. Parameters, loss and metrics
  stay float32; `dtype` is the compute type of the model's forward and backward pass.
  The batch may be split into micro-batches (`policy.micro_batches`) whose gradients are
  averaged: the same update up to float summation order (dropout and sampling draw per
  micro-batch, from the step's key folded with the micro-batch's index)."""
  key = jax.random.fold_in(step_key, state.step)
  inputs, target = prepare(key, batch)
  keys = contract.rngs(key)

  def loss_of(params, inputs, target, keys):
    def apply(params, x):
      outputs, model_state, sown = contract.apply_train(model, _cast(params, dtype),
                                                        state.model_state, x.astype(dtype), keys)
      return outputs.astype(jnp.float32), model_state, sown
    method_key = jax.random.fold_in(keys[contract.SAMPLE], _METHOD_SALT)
    return method.loss(apply, params, inputs, target, method_key, loss_fn)

  def forward_backward(params, inputs, target, keys):
    (loss, (outputs, reference, model_state, terms)), grads = jax.value_and_grad(
        loss_of, has_aux=True)(params, inputs, target, keys)
    psnr, ssim = metrics.psnr_ssim(loss_fn.to_images(outputs), reference)
    return (loss, terms, grads), (model_state, psnr, ssim)

  devices = mesh.devices.size if mesh is not None else 1
  n = policy.micro_batches(micro_batch_size, target.shape[0], devices, bool(state.model_state))
  if n == 1:
    (loss, terms, grads), (model_state, psnr, ssim) = forward_backward(state.params, inputs,
                                                                       target, keys)
  else:  # a model with state runs in one pass (policy.micro_batches)
    (loss, terms, grads), (psnr, ssim) = accumulate(forward_backward, state.params, inputs,
                                                    target, keys, n, mesh)
    model_state = state.model_state
  grad_norm = optax.tree.norm(grads)
  updated = state.apply_gradients(grads=grads, model_state=model_state).update_ema(ema_decay)
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


def accumulate(forward_backward, params, inputs, target, keys, n: int, mesh):
  """`forward_backward` over n micro-batches in a `lax.scan`, its loss, terms and gradients
  averaged (each is a mean over equally many images).

  Each device sums over its own rows of the micro-batches, and the sums meet once after the loop,
  as one flat vector: summed over whole micro-batches inside the loop, the gradients would be
  all-reduced once per micro-batch, and between processes every reduced array costs a round
  trip, which for these models costs more than the compute."""
  xs, ts = parallel.split_micro(inputs, n, mesh), parallel.split_micro(target, n, mesh)
  zero = jax.tree.map(jnp.zeros_like,
                      jax.eval_shape(lambda: forward_backward(params, xs[0], ts[0], keys)[0]))
  _, unravel = ravel_pytree(zero)

  def on_device(index, shared, xs, ts):
    params, keys, zero = shared

    def body(total, micro):
      j, x, t = micro
      micro_keys = contract.fold_rngs(keys, j)
      if index is not None:  # each device draws its own dropout and samples
        micro_keys = contract.fold_rngs(micro_keys, index)
      (loss, terms, grads), (_, psnr, ssim) = forward_backward(params, x, t, micro_keys)
      return jax.tree.map(jnp.add, total, (loss, terms, grads)), (psnr, ssim)

    total, scores = jax.lax.scan(body, zero, (jnp.arange(n), xs, ts))
    return ravel_pytree(total)[0], scores

  totals, (psnr, ssim) = parallel.on_each_device(on_device, mesh, (params, keys, zero), xs, ts)
  return unravel(totals.sum(0) / (n * totals.shape[0])), (psnr, ssim)


def make_degrade(spec, mesh):
  """`degrade(key, images)`, image i degraded with the i-th key of `key`'s split either way: a
  one_of image by image on each device's own rows where the platform policy says so, else
  vectorised."""
  if not policy.one_of_image_by_image() or dict(spec).get('kind') != 'one_of':
    return degradations.build(spec)
  by_image = degradations.degrade_with_keys(spec, image_by_image=True)

  def degrade(key, images):
    return parallel.on_each_shard(by_image, mesh, jax.random.split(key, images.shape[0]), images)
  return degrade


def data_seed(seed: int, restarts: int) -> int:
  """The seed of data order and noise: `seed` itself, or one derived from (seed, restarts) once a
  run has stopped for non-finite updates, so resuming does not replay the same batches blindly."""
  if not restarts:
    return seed
  return int(np.random.SeedSequence([seed, restarts]).generate_state(1, np.uint32)[0])


def make_train_step(task, mesh, restarts: int = 0):
  """`train_step` for this config, jitted over `mesh`: state replicated and donated, batch sharded,
  traced with the platform's convolutions. After `restarts` stops for non-finite updates, the
  noise comes from another key (`data_seed`)."""
  config, replicated = task.config, parallel.replicated(mesh)
  method = methods.METHODS[config.method]
  prepare = augment.make_prepare(make_degrade(task.degradation, mesh),
                                 config.augment, config.data.image_size,
                                 int(config.data.channels), method.target)
  step = functools.partial(
      train_step, model=task.model, prepare=prepare, loss_fn=task.objective,
      method=method,
      step_key=jax.random.fold_in(jax.random.key(data_seed(config.seed, restarts)), 1),
      dtype=task.dtype, ema_decay=float(config.ema_decay),
      micro_batch_size=config.micro_batch_size, mesh=mesh)
  return task.jit(step, in_shardings=(replicated, parallel.batch_sharding(mesh)),
                  out_shardings=(replicated, replicated), donate_argnums=(0,))
