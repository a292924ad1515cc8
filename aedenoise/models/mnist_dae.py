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

import flax.linen as nn

from aedenoise.models import torch_layers

# Encoder output channels per depth; the decoder mirrors them back to the image's channels.
CHANNELS = {1: (4,), 3: (16, 8, 4), 5: (32, 32, 16, 8, 4)}
# Encoder kernels per (depth, latent side), 28x28 inputs.
KERNELS = {
    (1, 13): (16,), (1, 8): (21,), (1, 5): (24,),
    (3, 13): (6, 6, 6), (3, 8): (8, 8, 7), (3, 5): (9, 9, 8),
    (5, 13): (4, 4, 4, 4, 4), (5, 8): (5, 5, 5, 5, 5), (5, 5): (6, 6, 6, 5, 5),
}
DEPTHS, LATENTS = (1, 3, 5), (13, 8, 5)
# Each model's name before its arguments came from config.model_kwargs (older workdirs).
LEGACY_NAMES = {f'mnist_dae_d{d}_l{l}': {'depth': d, 'latent': l} for d, l in KERNELS}


class MnistDenoisingAutoEncoder(nn.Module):
  """DAE_{depth}_{latent}: Conv2d(k_i, stride 1, padding 0) + ReLU down to the latent,
  ConvTranspose2d back, with the kernels and channels of `KERNELS` and `CHANNELS`.

  Attributes:
    depth: layers each way, 1, 3 or 5.
    latent: the latent's side, 13, 8 or 5 (for 28x28 inputs).
    output_activation: what the trainer applies to the returned pre-activation.
  """
  depth: int = 1
  latent: int = 13
  output_activation: str = 'sigmoid'

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no BatchNorm, no dropout
    if (self.depth, self.latent) not in KERNELS:
      raise ValueError(f'no MNIST model of depth {self.depth} and latent {self.latent}; known: '
                       f'depth {", ".join(map(str, DEPTHS))} x latent '
                       f'{", ".join(map(str, LATENTS))}')
    kernels, channels = KERNELS[(self.depth, self.latent)], CHANNELS[self.depth]
    for i, (k, c) in enumerate(zip(kernels, channels)):
      x = nn.relu(torch_layers.conv(c, k, name=f'enc{i + 1}')(x))
    outputs = (*channels[-2::-1], 1)  # mirror: ..., 16, then the single image channel
    for i, (k, c) in enumerate(zip(kernels[::-1], outputs)):
      x = torch_layers.conv_transpose(c, k, name=f'dec{i + 1}')(x)
      if i < self.depth - 1:
        x = nn.relu(x)
    return x
