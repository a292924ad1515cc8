"""A small U-Net denoiser: cheaper per pixel than DnCNN on a CPU, because most of its work runs at
half and quarter resolution.

Each scale has two 3x3 convolutions with ReLU; going down, a 2x2 stride-2 convolution halves the
size; going up, a 2x2 stride-2 transposed convolution doubles it and the encoder's features of that
scale are concatenated. The last 1x1 convolution gives the image's channels; with `residual` it is
the noise, subtracted from the input. Fully convolutional on sizes that are multiples of
2^(scales - 1) (the tiler pads to that).
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from aedenoise.models import layers


class UNet(nn.Module):
  """Attributes:
    features: channels per scale, from full resolution down (three scales by default).
    residual: the network predicts the noise, and returns the input minus it.
    output_activation: 'linear': the output is the restored image itself.
  """
  features: Sequence[int] = (32, 64, 128)
  residual: bool = True
  output_activation: str = 'linear'

  def _block(self, h, features: int, name: str):
    for i in range(2):
      h = nn.relu(layers.Conv(features, (3, 3), padding='SAME', name=f'{name}_{i + 1}')(h))
    return h

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no BatchNorm, no dropout
    skips, h = [], x
    for s, features in enumerate(self.features):
      if s:
        h = layers.Conv(features, (2, 2), (2, 2), name=f'down_{s}')(h)
      h = self._block(h, features, f'enc_{s}')
      skips.append(h)
    for s in range(len(self.features) - 2, -1, -1):
      h = layers.ConvTranspose(self.features[s], (2, 2), (2, 2), name=f'up_{s}')(h)
      h = self._block(jnp.concatenate([h, skips[s]], axis=-1), self.features[s], f'dec_{s}')
    out = layers.Conv(x.shape[-1], (1, 1), name='out')(h)
    return x - out if self.residual else out
