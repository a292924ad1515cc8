"""PyTorch layer conventions expressed with our convolutions, for the models ported from PyTorch.

Why a separate module: the PyTorch studies describe layers by torch's (kernel, stride, padding)
triple, whose meaning differs from Flax's padding argument for transposed convolutions. Writing
the translation once keeps the model files a plain transcription of the papers' tables, and the
same translation is what `aedenoise.torch_import` assumes when it ports trained weights.

* `Conv2d(k, s, p)` pads the input by p on every side: explicit pads ((p, p), (p, p)).
* `ConvTranspose2d(k, s, p)` (output_padding 0) is a correlation of the stride-dilated input padded
  by k - 1 - p on every side with the spatially flipped kernel, so its output is
  (H - 1) * s - 2p + k, as torch gives. Our `layers.ConvTranspose` does not flip
  (transpose_kernel=False); the importer flips torch's weights instead.
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from aedenoise.models import layers


def conv(features: int, kernel: int, stride: int = 1, padding: int = 0, *, impl: str,
         name: str | None = None) -> nn.Conv:
  """torch `Conv2d(in, features, kernel, stride, padding)` (bias on)."""
  return layers.Conv(features, (kernel, kernel), (stride, stride),
                     ((padding, padding), (padding, padding)), impl=impl, name=name)


def conv_transpose(features: int, kernel: int, stride: int = 1, padding: int = 0, *, impl: str,
                   name: str | None = None) -> layers.ConvTranspose:
  """torch `ConvTranspose2d(in, features, kernel, stride, padding)` (bias on, output_padding 0)."""
  if padding > kernel - 1:
    raise ValueError(f'transposed conv padding {padding} exceeds kernel - 1 = {kernel - 1}')
  pad = kernel - 1 - padding
  return layers.ConvTranspose(features, (kernel, kernel), (stride, stride),
                              ((pad, pad), (pad, pad)), impl=impl, name=name)


def batch_norm(train: bool, name: str | None = None) -> nn.BatchNorm:
  """torch `BatchNorm2d` defaults: momentum 0.1 (Flax's 0.9 for the running average), eps 1e-5."""
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


def upsample_nearest(x, factor: int = 2):
  """torch `nn.Upsample(scale_factor=factor)` (mode 'nearest') on NHWC."""
  return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)
