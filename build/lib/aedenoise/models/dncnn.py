"""DnCNN (Zhang et al., "Beyond a Gaussian Denoiser", 2017): a plain stack of 3x3 convolutions
that predicts the noise and subtracts it (residual learning).

conv+ReLU, then `depth - 2` blocks of conv+BatchNorm+ReLU, then a conv to the image's channels, all
3x3 with zero 'same' padding, `features` wide. DnCNN-S (grey, fixed sigma) is depth 17 and 64
features (556,032 parameters); DnCNN-B (blind) depth 20. Fully convolutional: any image size.
"""
from __future__ import annotations

import flax.linen as nn

from aedenoise.models import layers


class DnCNN(nn.Module):
  """Attributes:
    depth: convolutions in all, the first and last included.
    features: channels of every hidden layer.
    batch_norm: BatchNorm after every hidden convolution but the first (as DnCNN).
    residual: the network predicts the noise, and returns the input minus it.
    output_activation: 'linear': the output is the restored image itself.
  """
  depth: int = 17
  features: int = 64
  batch_norm: bool = True
  residual: bool = True
  output_activation: str = 'linear'

  @nn.compact
  def __call__(self, x, train: bool = False):
    if self.depth < 2:
      raise ValueError(f'DnCNN needs a depth of at least 2, got {self.depth}')
    h = nn.relu(layers.Conv(self.features, (3, 3), padding='SAME', name='conv_first')(x))
    for i in range(self.depth - 2):
      h = layers.Conv(self.features, (3, 3), padding='SAME', use_bias=not self.batch_norm,
                      name=f'conv_{i + 1}')(h)
      if self.batch_norm:
        h = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-4,
                         name=f'bn_{i + 1}')(h)
      h = nn.relu(h)
    out = layers.Conv(x.shape[-1], (3, 3), padding='SAME', name='conv_last')(h)
    return x - out if self.residual else out
