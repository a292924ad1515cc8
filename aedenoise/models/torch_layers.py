"""PyTorch layer conventions expressed with our convolutions, for the models ported from PyTorch.

Why a separate module: the PyTorch studies describe layers by torch's (kernel, stride, padding)
triple, whose meaning differs from Flax's padding argument for transposed convolutions. Writing
the translation once keeps the model files a plain transcription of the papers' tables, and the
same translation is what `aedenoise.training.torch_import` assumes when it ports trained weights.

* `Conv2d(k, s, p)` pads the input by p on every side: explicit pads ((p, p), (p, p)).
* `ConvTranspose2d(k, s, p)` (output_padding 0) is a correlation of the stride-dilated input padded
  by k - 1 - p on every side with the spatially flipped kernel, so its output is
  (H - 1) * s - 2p + k, as torch gives. Our `layers.ConvTranspose` does not flip
  (transpose_kernel=False); the importer flips torch's weights instead.
* Initial weights and biases are torch's defaults, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where a
  transposed convolution's fan_in is its output channels x k^2 (torch reads it off the weight's
  second axis). Flax's zero biases with LeCun-normal weights kill every ReLU of the MNIST study's
  4-channel models within a few Adam steps far more often than torch's start does.
"""
from __future__ import annotations

import math
from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from aedenoise.models import layers


def torch_uniform(fan_in: int) -> nn.initializers.Initializer:
  """torch's default initialiser of Conv*/Linear weights and biases for that fan_in."""
  bound = 1 / math.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)
  return init


def conv(features: int, kernel: int, stride: int = 1, padding: int = 0, *,
         name: str | None = None) -> Callable[[jax.Array], jax.Array]:
  """torch `Conv2d(in, features, kernel, stride, padding)` (bias on), applied to x.

  The module is made at call time because torch's initial bounds depend on x's channels.
  """
  def apply(x):
    init = torch_uniform(x.shape[-1] * kernel * kernel)
    return layers.Conv(features, (kernel, kernel), (stride, stride),
                       ((padding, padding), (padding, padding)), name=name,
                       kernel_init=init, bias_init=init)(x)
  return apply


def conv_transpose(features: int, kernel: int, stride: int = 1, padding: int = 0, *,
                   name: str | None = None) -> layers.ConvTranspose:
  """torch `ConvTranspose2d(in, features, kernel, stride, padding)` (bias on, output_padding 0)."""
  if padding > kernel - 1:
    raise ValueError(f'transposed conv padding {padding} exceeds kernel - 1 = {kernel - 1}')
  pad = kernel - 1 - padding
  init = torch_uniform(features * kernel * kernel)
  return layers.ConvTranspose(features, (kernel, kernel), (stride, stride),
                              ((pad, pad), (pad, pad)), name=name,
                              kernel_init=init, bias_init=init)


def dense(features: int, name: str | None = None) -> Callable[[jax.Array], jax.Array]:
  """torch `Linear(in, features)` (bias on), applied to x."""
  def apply(x):
    init = torch_uniform(x.shape[-1])
    return nn.Dense(features, kernel_init=init, bias_init=init, name=name)(x)
  return apply


def batch_norm(train: bool, name: str | None = None) -> nn.BatchNorm:
  """torch `BatchNorm2d` defaults: momentum 0.1 (Flax's 0.9 for the running average), eps 1e-5."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


def upsample_nearest(x, factor: int = 2):
  """torch `nn.Upsample(scale_factor=factor)` (mode 'nearest') on NHWC."""
  return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)
