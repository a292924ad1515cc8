"""The CIFAR-10 denoisers of Psychalas, "Exploring Convolutional Auto-encoders for Image Denoising"
(2024): Model-A, Model-B (as printed and as trained) and Model-C.

All four are the same kind of network, differing only in the sequence of layers, so one module
takes that sequence (a "layer plan") instead of four classes repeating the same code. The author's
PyTorch layers (github.com/Xritsos/Denoising, `source/model_*.py`):

* 'conv': Conv2d(k3, s1, p1), a feature layer keeping the size;
* 'down': Conv2d(k2, s2, p0), halving the size;
* 'up': ConvTranspose2d(k2, s2, p0), doubling the size;
* 'convt': ConvTranspose2d(k3, s1, p1), a feature layer on the way up.

Every hidden layer is followed by BatchNorm2d (except in Model-A) and ReLU; the last layer is a
transposed convolution followed by the sigmoid (applied by the trainer: we return its input).
Layers are named after the author's modules (enc1.., dec1.., batch_enc1..), in the order of the
author's state dicts, which is what `aedenoise.training.torch_import` relies on to port 35.pt/37.pt/38.pt.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import flax.linen as nn

from aedenoise.models import torch_layers

# kind -> (transposed?, kernel, stride, padding) in torch's convention.
_KINDS = {
    'conv': (False, 3, 1, 1),
    'down': (False, 2, 2, 0),
    'up': (True, 2, 2, 0),
    'convt': (True, 3, 1, 1),
}

LayerPlan = Tuple[Tuple[str, int], ...]

# Fig. 3, no BatchNorm: 32 -> 16 -> 8 -> 4 (4x4x8 bottleneck) -> 32. 95,307 parameters.
MODEL_A: LayerPlan = (
    ('conv', 64), ('down', 64), ('conv', 32), ('down', 32), ('conv', 16), ('down', 16),
    ('conv', 8),
    ('convt', 16), ('up', 16), ('convt', 32), ('up', 32), ('convt', 64), ('up', 64), ('convt', 3))
# Fig. 5 as printed (2x2x64 bottleneck). 93,587 parameters with BatchNorm.
MODEL_B: LayerPlan = (
    ('conv', 8), ('down', 8), ('conv', 16), ('down', 16), ('conv', 32), ('down', 32),
    ('conv', 64), ('down', 64),
    ('up', 64), ('convt', 32), ('up', 32), ('convt', 16), ('up', 16), ('convt', 8), ('up', 8),
    ('convt', 3))
# Model-B as trained for the reported results (`model_b.py`, checkpoint 35.pt). 5,539 parameters.
MODEL_B_SMALL: LayerPlan = (
    ('conv', 8), ('down', 8), ('conv', 16), ('down', 16),
    ('up', 16), ('convt', 8), ('up', 8), ('convt', 3))
# Fig. 6, the final model (`model_c.py`, checkpoints 37.pt and 38.pt). 80,515 parameters.
MODEL_C: LayerPlan = (
    ('conv', 32), ('down', 32), ('conv', 64), ('down', 64),
    ('up', 64), ('convt', 32), ('up', 32), ('convt', 3))


class CifarAutoEncoder(nn.Module):
  """A plain stack of the study's four layer kinds; returns the pre-sigmoid output.

  Attributes:
    plan: (kind, output channels) per layer, kinds as in the module docstring; the last layer is
      the output layer (transposed, no BatchNorm, no ReLU).
    batch_norm: BatchNorm2d after every hidden layer (Models B and C; not Model-A).
    output_activation: what the trainer applies to the returned pre-activation.
  """
  plan: Sequence[Tuple[str, int]] = MODEL_C
  batch_norm: bool = True
  output_activation: str = 'sigmoid'

  @nn.compact
  def __call__(self, x, train: bool = False):
    if not self.plan or not _KINDS[self.plan[-1][0]][0]:
      raise ValueError('the last layer of a plan must be transposed (the output layer)')
    n_enc = n_dec = 0
    for i, (kind, features) in enumerate(self.plan):
      transposed, kernel, stride, padding = _KINDS[kind]
      if transposed:
        n_dec += 1
        name, make = f'dec{n_dec}', torch_layers.conv_transpose
      else:
        n_enc += 1
        name, make = f'enc{n_enc}', torch_layers.conv
      x = make(features, kernel, stride, padding, name=name)(x)
      if i == len(self.plan) - 1:
        return x
      if self.batch_norm:
        x = torch_layers.batch_norm(train, name=f'batch_{name}')(x)
      x = nn.relu(x)
    return x
