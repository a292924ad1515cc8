"""The MNIST study's denoising autoencoders DAE_{depth}_{latent}: Lalaj, University of British
Columbia (PyTorch), with the layer sizes inferred below ("Rule A").

Why one class and a table: the nine models differ only in their depth (1, 3 or 5 layers each way)
and latent size (13x13, 8x8 or 5x5, always 4 channels). The report gives neither kernels nor
widths; Rule A infers them so that every layer is a stride-1, unpadded convolution that shrinks the
map (the kernels k_i sum to 28 - latent + depth) and the decoder is its exact shape inverse:
transposed convolutions with the same kernels in reverse order. ReLU after every layer except the
last, whose sigmoid the trainer applies (`output_activation`).
"""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn

from aedenoise.models import torch_layers

LATENT_CHANNELS = 4
# Encoder output channels per depth; the decoder mirrors them back to the image's channels.
CHANNELS = {1: (4,), 3: (16, 8, 4), 5: (32, 32, 16, 8, 4)}
# Encoder kernels per (depth, latent side), 28x28 inputs.
KERNELS = {
    (1, 13): (16,), (1, 8): (21,), (1, 5): (24,),
    (3, 13): (6, 6, 6), (3, 8): (8, 8, 7), (3, 5): (9, 9, 8),
    (5, 13): (4, 4, 4, 4, 4), (5, 8): (5, 5, 5, 5, 5), (5, 5): (6, 6, 6, 5, 5),
}


def name(depth: int, latent: int) -> str:
  """Registry name of DAE_{depth}_{latent}, e.g. 'mnist_dae_d5_l8'."""
  return f'mnist_dae_d{depth}_l{latent}'


class MnistDenoisingAutoEncoder(nn.Module):
  """Conv2d(k_i, stride 1, padding 0) + ReLU down to the latent, ConvTranspose2d back.

  Attributes:
    kernels: encoder kernel sizes, in order; the decoder uses them reversed.
    channels: encoder output channels, in order (the last is the latent's).
    conv_impl: 'lax' or 'matmul', see `layers`.
    output_activation: what the trainer applies to the returned pre-activation.
  """
  kernels: Sequence[int] = KERNELS[(1, 13)]
  channels: Sequence[int] = CHANNELS[1]
  conv_impl: str = 'lax'
  output_activation: str = 'sigmoid'

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no BatchNorm, no dropout
    if len(self.kernels) != len(self.channels):
      raise ValueError(f'{len(self.kernels)} kernels for {len(self.channels)} layers')
    for i, (k, c) in enumerate(zip(self.kernels, self.channels)):
      x = nn.relu(torch_layers.conv(c, k, impl=self.conv_impl, name=f'enc{i + 1}')(x))
    outputs = (*self.channels[-2::-1], 1)  # mirror: ..., 16, then the single image channel
    depth = len(self.kernels)
    for i, (k, c) in enumerate(zip(self.kernels[::-1], outputs)):
      x = torch_layers.conv_transpose(c, k, impl=self.conv_impl, name=f'dec{i + 1}')(x)
      if i < depth - 1:
        x = nn.relu(x)
    return x


def specs() -> dict[str, dict]:
  """{registry name: constructor keyword arguments} of the nine models."""
  return {name(d, l): {'kernels': k, 'channels': CHANNELS[d]} for (d, l), k in KERNELS.items()}
