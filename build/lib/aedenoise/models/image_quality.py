"""The models of Krzak et al., "Image quality improvement with autoencoders" (DTU 02456, 2022).

Four PyTorch networks, transcribed from the authors' repository (github.com/mactat/DL-IQIWA): a CIFAR-10 denoising autoencoder with max pooling, a CIFAR-10 VAE, and two super-resolution
nets (a transposed-convolution one, and a ResNet behind an align-corners bilinear upsampling).
Each returns the pre-activation of its output; `output_activation` names what the trainer applies.
The super-resolution nets are fully convolutional: the output has the size torch would give for
any input (2x for the deconvolution net, `scale`x for the ResNet), so they train on small crops.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from aedenoise.models import contract
from aedenoise.models import torch_layers as tl


class PoolingAutoEncoder(nn.Module):
  """Denoising conv AE (23,659 parameters): every conv k4 s2 p1, a max pool and a nearest x2
  upsampling around a 2x2x8 bottleneck (for 32x32 inputs)."""
  output_activation: str = 'sigmoid'

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train  # no dropout or normalisation
    channels = x.shape[-1]
    conv = lambda f: tl.conv(f, 4, 2, 1)
    convt = lambda f: tl.conv_transpose(f, 4, 2, 1)
    x = nn.relu(conv(32)(x))
    x = nn.max_pool(x, (2, 2), (2, 2))
    x = nn.relu(conv(16)(x))
    x = nn.relu(conv(8)(x))
    x = nn.relu(convt(16)(x))
    x = tl.upsample_nearest(x, 2)
    x = nn.relu(convt(32)(x))
    return convt(channels)(x)


class VariationalAutoEncoder(nn.Module):
  """The CIFAR-10 VAE (522,519 parameters for 32x32x3 and 10 latent dimensions).

  Records its KL divergence to N(0, I) per image (summed over latent dimensions, shape [B]) as
  the loss term 'kl' (`sow`); the trainer adds it to the reconstruction loss. z = mu in eval mode.

  The flatten between the encoder and the latent layers is in H, W, C order (natural for NHWC);
  torch flattens C, H, W, so porting torch's fc_mu/fc_logvar/fc weights would need their 8192
  axis permuted. No trained VAE weights exist, so nothing does this.
  """
  latent_dims: int = 10
  capacity: int = 64
  output_activation: str = 'sigmoid'

  @nn.compact
  def __call__(self, x, train: bool = False):
    c = self.capacity
    channels = x.shape[-1]
    h = nn.relu(tl.conv(c, 4, 2, 1, name='conv1')(x))
    h = nn.relu(tl.conv(2 * c, 4, 2, 1, name='conv2')(h))
    feature_shape = h.shape[1:]
    h = h.reshape(h.shape[0], -1)
    mu = tl.dense(self.latent_dims, name='fc_mu')(h)
    logvar = tl.dense(self.latent_dims, name='fc_logvar')(h)
    kl = -0.5 * jnp.sum(1 + logvar - mu ** 2 - jnp.exp(logvar), axis=-1)
    self.sow(contract.LOSSES, 'kl', kl)
    z = mu
    if train:
      eps = jax.random.normal(self.make_rng(contract.SAMPLE), mu.shape, mu.dtype)
      z = mu + eps * jnp.exp(0.5 * logvar)
    h = tl.dense(int(np.prod(feature_shape)), name='fc')(z)
    h = h.reshape((-1,) + tuple(feature_shape))
    h = nn.relu(tl.conv_transpose(c, 4, 2, 1, name='conv2_t')(h))
    return tl.conv_transpose(channels, 4, 2, 1, name='conv1_t')(h)


class DeconvSuperResolution(nn.Module):
  """2x super-resolution by transposed convolutions (3,063 parameters): H -> 2H.

  torch sizes (H - 1) * s - 2p + k: k3 s1 p1 keeps H, k3 s2 p1 gives 2H - 1, k4 s1 p1 adds one.
  """
  output_activation: str = 'sigmoid'

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    channels = x.shape[-1]
    x = nn.relu(tl.conv_transpose(10, 3, 1, 1)(x))
    x = nn.relu(tl.conv_transpose(20, 3, 2, 1)(x))
    return tl.conv_transpose(channels, 4, 1, 1)(x)


def align_corners_matrix(n_in: int, n_out: int) -> np.ndarray:
  """The (n_out, n_in) linear-interpolation matrix of torch's align_corners=True resampling.

  Output i samples the input at i * (n_in - 1) / (n_out - 1), computed as an exact integer product
  before the division so that both end points land exactly on the input's end pixels.
  """
  if n_out == 1 or n_in == 1:
    src = np.zeros(n_out)
  else:
    src = np.arange(n_out) * (n_in - 1) / (n_out - 1)
  lo = np.minimum(np.floor(src).astype(int), n_in - 1)
  hi = np.minimum(lo + 1, n_in - 1)
  frac = src - lo
  m = np.zeros((n_out, n_in))
  np.add.at(m, (np.arange(n_out), lo), 1 - frac)
  np.add.at(m, (np.arange(n_out), hi), frac)
  return m.astype(np.float32)


def upsample_bilinear_align_corners(x, scale: int):
  """torch `nn.UpsamplingBilinear2d(scale_factor=scale)` on NHWC (`jax.image.resize` is half-pixel).

  Two small matrix products (rows, then columns); HIGHEST precision keeps the weights 0 and 1 exact
  on accelerators that would otherwise round the inputs to bfloat16/TF32.
  """
  _, h, w, _ = x.shape
  mh = jnp.asarray(align_corners_matrix(h, h * scale))
  mw = jnp.asarray(align_corners_matrix(w, w * scale))
  hi = jax.lax.Precision.HIGHEST
  x = jnp.einsum('oh,bhwc->bowc', mh, x, precision=hi)
  return jnp.einsum('pw,bowc->bopc', mw, x, precision=hi)


class ConvBlock(nn.Module):
  """BatchNorm -> [PReLU] -> conv -> dropout -> conv -> [PReLU]: the authors' pre-activation block.

  The two PReLUs are separate one-parameter modules initialised at 0.25 (torch's default).
  """
  features: int
  prelu: bool
  dropout_rate: float

  @nn.compact
  def __call__(self, x, train: bool):
    x = tl.batch_norm(train)(x)
    if self.prelu:
      x = nn.PReLU(negative_slope_init=0.25)(x)
    x = tl.conv(self.features, 3, 1, 1)(x)
    x = nn.Dropout(self.dropout_rate, deterministic=not train,
                   rng_collection=contract.DROPOUT)(x)
    x = tl.conv(self.features, 3, 1, 1)(x)
    if self.prelu:
      x = nn.PReLU(negative_slope_init=0.25)(x)
    return x


class ResNetSuperResolution(nn.Module):
  """x`scale` super-resolution (299,463 parameters): align-corners bilinear upsampling, a
  conv, `num_blocks` residual blocks x + B(A(x)) (A with PReLUs, B without), an output conv.
  No output activation (the authors train it with MSE + 100 L1 on the raw output)."""
  scale: int = 4
  features: int = 64
  num_blocks: int = 2
  dropout_rate: float = 0.1
  output_activation: str = 'linear'

  @nn.compact
  def __call__(self, x, train: bool = False):
    channels = x.shape[-1]
    x = upsample_bilinear_align_corners(x, self.scale)
    x = tl.conv(self.features, 3, 1, 1)(x)
    block = lambda prelu, name: ConvBlock(self.features, prelu, self.dropout_rate,
                                          name=name)
    for i in range(1, self.num_blocks + 1):
      x = x + block(False, f'res{i}_b')(block(True, f'res{i}_a')(x, train), train)
    return tl.conv(channels, 3, 1, 1)(x)
