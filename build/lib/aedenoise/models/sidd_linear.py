"""The real-noise study's linear convolutional autoencoder: Khan et al., "Image Denoise with
AutoEncoder" (North South University, CSE445, 2021), as its notebook (github.com/Shakib-IO/
CSE445_Machine_Learning) builds it.

Why a model without a single nonlinearity: the study's Keras layers all keep the default linear
activation, so the network is one linear operator (plus biases) with a global residual,
output = input + f(input). A faithful port must stay linear (tests/test_sidd_mnist_models.py checks
superposition), and must pad like Keras' `padding="same"`: with the even (k=2) kernels of four
layers, TF pads the extra row/column on the bottom/right of a convolution's input, which is also
what `lax` gives for 'SAME' (tests check both convolution implementations against explicit
padding). A Keras transposed convolution is the gradient of such a convolution;
`layers.ConvTranspose` with 'SAME' is the same operator with the kernel stored flipped, so the
function space is the same.

All layers have stride 1, so the model is fully convolutional: it restores images of any size
(the study resized to 256x256x3). 3,023,235 parameters.

One deliberate difference from Keras: the last layer's kernel starts at zero (Keras: Glorot
uniform; the other layers keep Flax's LeCun normal), so the untrained network is the identity and
scores exactly the noisy input; training can then only start from there. With a random last layer
the untrained output is the input plus a large random linear image (about 16 dB on SIDD crops) and
a short run spends its steps undoing that. Parameter count and function space are unchanged.
"""
from __future__ import annotations

import flax.linen as nn

from aedenoise.models import layers

# (name, filters, kernel) of the encoder and of the decoder, in order.
ENCODER = (('conv_1', 256, 2), ('conv_2', 256, 2), ('conv_3', 256, 3), ('conv_4', 256, 3),
           ('conv_5', 128, 3))
DECODER = (('deconv_5', 256, 2), ('deconv_4', 256, 2), ('deconv_3', 256, 3), ('deconv_2', 128, 3))
# Decoder layer whose output is added to an encoder layer's output before it goes on (add_1, add_2).
SKIPS = {'deconv_5': 'conv_4', 'deconv_3': 'conv_2'}


class SiddLinearAutoEncoder(nn.Module):
  """Five 'same' convolutions, five 'same' transposed convolutions, no activations, two additive
  skips and output = input + last layer; returns that output (the trainer applies nothing).

  Attributes:
    output_activation: 'linear': the output is the restored image itself.
  """
  output_activation: str = 'linear'

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no BatchNorm, no dropout
    saved, y = {}, x
    for name, features, k in ENCODER:
      y = saved[name] = layers.Conv(features, (k, k), padding='SAME', name=name)(y)
    for name, features, k in DECODER:
      y = layers.ConvTranspose(features, (k, k), padding='SAME', name=name)(y)
      if name in SKIPS:
        y = y + saved[SKIPS[name]]
    y = layers.ConvTranspose(x.shape[-1], (3, 3), padding='SAME',
                             kernel_init=nn.initializers.zeros_init(), name='deconv_1')(y)
    return x + y
