"""Reconstruction losses on model outputs. Each returns the per-image mean over pixels, shape [B].

Models return the pre-activation of their last layer and name the activation, so binary
cross-entropy is computed from logits (stable, and what Keras does for a sigmoid output).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

ACTIVATIONS = {
    'sigmoid': jax.nn.sigmoid,
    'linear': lambda z: z,
}


def _per_image_mean(x):
  return x.reshape(x.shape[0], -1).mean(axis=1)


def bce(outputs, target, activation):
  if activation != 'sigmoid':
    raise ValueError(f'the bce loss needs a sigmoid-output model, this one is {activation!r}')
  return _per_image_mean(optax.sigmoid_binary_cross_entropy(outputs, target))


def mse(outputs, target, activation):
  return _per_image_mean(jnp.square(ACTIVATIONS[activation](outputs) - target))


def l1(outputs, target, activation):
  return _per_image_mean(jnp.abs(ACTIVATIONS[activation](outputs) - target))


LOSSES = {'bce': bce, 'mse': mse, 'l1': l1}
