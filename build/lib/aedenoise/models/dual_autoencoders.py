"""Single, dual and dual-with-skips denoising autoencoders.

Khandelwal & Sharma, "Denoising and Deblurring Images using Dual Autoencoders" (2023).

Layer by layer as the authors' Keras notebook builds them
(github.com/RFA23SCM71S/Denoising-and-Deblurring-Images, `cv_final_project.ipynb`):
valid padding, strided convolutions down, transposed convolutions up, ReLU everywhere except the
output. The separable variants replace only the ordinary convolutions (skip branches included) by
depthwise-separable ones; transposed convolutions stay ordinary. Input 100x100x1.
"""
from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from aedenoise.models.layers import Conv, ConvTranspose, SeparableConv


def upsample2(x):
  """Keras UpSampling2D(2): nearest neighbour."""
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


class DualAutoEncoder(nn.Module):
  """Returns the pre-activation of the output layer; `output_activation` names the activation.
  dual=False is the single autoencoder."""
  dual: bool = False
  skips: bool = False
  separable: bool = False
  output_activation: str = 'sigmoid'

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no dropout or normalisation
    if self.skips and not self.dual:
      raise ValueError('skip connections join the two autoencoders of the dual model')
    conv = SeparableConv if self.separable else Conv
    convt = ConvTranspose
    relu = nn.relu

    # Autoencoder 1: 100 -> 98 -> 48 -> 23 (bottleneck) -> 47 -> 95 -> 100.
    e1 = relu(conv(50, (3, 3), name='enc1')(x))
    e2 = relu(conv(35, (3, 3), (2, 2), name='enc2')(e1))
    e3 = relu(conv(25, (3, 3), (2, 2), name='enc3')(e2))
    h = relu(convt(25, (3, 3), (2, 2), name='dec1')(e3))
    h = relu(convt(25, (3, 3), (2, 2), name='dec2')(h))
    h = convt(1, (6, 6), name='ae1_out')(h)
    if not self.dual:
      return h

    # Autoencoder 2: 100 -> 98 -> 96 -> 47 (bottleneck) -> 95 -> 97 -> 100. The first
    # autoencoder's output goes through ReLU, not sigmoid, as in the source notebook.
    h = relu(h)
    h = relu(conv(25, (3, 3), name='enc2_1')(h))
    if self.skips:  # S1: 98x98x50 -> 1x1 conv -> 98x98x25
      h = h + relu(conv(25, (1, 1), name='skip1')(e1))
    h = relu(conv(25, (3, 3), name='enc2_2')(h))
    if self.skips:  # S2: 48x48x35 -> 1x1 conv -> x2 -> 96x96x25
      h = h + upsample2(relu(conv(25, (1, 1), name='skip2')(e2)))
    h = relu(conv(50, (3, 3), (2, 2), name='enc2_3')(h))
    if self.skips:  # S3: 23x23x25 -> 1x1 conv (50) -> x2 -> 2x2 transposed conv to ONE channel,
      # broadcast over the 50 channels of the bottleneck (this is what the study's counts imply).
      s3 = upsample2(relu(conv(50, (1, 1), name='skip3')(e3)))
      h = h + relu(convt(1, (2, 2), name='skip3_up')(s3))
    h = relu(convt(50, (3, 3), (2, 2), name='dec2_1')(h))
    h = relu(convt(25, (3, 3), name='dec2_2')(h))
    return convt(1, (4, 4), name='out')(h)
