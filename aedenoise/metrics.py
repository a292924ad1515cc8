"""PSNR and SSIM through dm-pix, under one documented convention.

Convention (the same for training logs, evaluation tables and `--mode=score`):
* images are floats in [0, 1], NHWC; PSNR uses data range 1 (dm_pix.psnr);
* SSIM is dm_pix.ssim with an 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, over the valid
  region (no padding); colour images average the per-channel SSIM. This equals
  `skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=1, channel_axis=-1)` (tests check 1e-3; measured ~4e-6);
* options, all off unless set in `config.eval`: `quantize` rounds both images to 8-bit levels first
  (as if saved as PNG), `clip=False` keeps values outside [0, 1] (the unclipped noisy input of the
  DnCNN/KAIR benchmarks, whose PSNR is then 20 log10(255 / sigma)), `crop_border` drops that many pixels on each side (the super-resolution
  habit), `y_channel` scores only the BT.601 luma of colour images (the deblurring/SR habit).
Values are per image; tables report the mean over images.
"""
from __future__ import annotations

import dataclasses

import dm_pix
import jax.numpy as jnp
import numpy as np
from jax import lax

from aedenoise import policy

FILTER_SIZE, FILTER_SIGMA = 11, 1.5  # dm_pix.ssim's defaults


@dataclasses.dataclass(frozen=True)
class Convention:
  quantize: bool = False
  crop_border: int = 0
  y_channel: bool = False
  clip: bool = True  # False scores values outside [0, 1] as they are (unclipped noisy inputs)

  @classmethod
  def from_config(cls, cfg) -> 'Convention':
    return cls(bool(cfg.quantize), int(cfg.crop_border), bool(cfg.y_channel))


def rgb_to_y(x):
  """BT.601 luma on [0, 1] images, as MATLAB's rgb2ycbcr (range [16/255, 235/255])."""
  return (16.0 + x @ jnp.asarray([65.481, 128.553, 24.966], x.dtype))[..., None] / 255.0


def prepare(x, conv: Convention):
  if conv.clip:
    x = jnp.clip(x, 0.0, 1.0)
  if conv.quantize:
    x = jnp.round(x * 255.0) / 255.0
  if conv.y_channel and x.shape[-1] == 3:
    x = rgb_to_y(x)
  if conv.crop_border:
    c = conv.crop_border
    x = x[..., c:-c, c:-c, :]
  return x


def psnr(a, b, conv: Convention = Convention()):
  """Per-image PSNR in dB of a against b, arrays [B,H,W,C] in [0, 1]."""
  return dm_pix.psnr(prepare(a, conv), prepare(b, conv))


def _band(n: int) -> np.ndarray:
  """[n - 10, n]: row i holds dm-pix's 1-D Gaussian at columns i..i+10 (a valid convolution)."""
  hw = FILTER_SIZE // 2
  taps = np.exp(-0.5 * ((np.arange(FILTER_SIZE) - hw) / FILTER_SIGMA) ** 2)
  taps /= taps.sum()
  band = np.zeros((n - FILTER_SIZE + 1, n), np.float32)
  for i in range(band.shape[0]):
    band[i, i:i + FILTER_SIZE] = taps
  return band


def _gaussian_by_matmul(z):
  """dm-pix's separable Gaussian window as two banded matrix products: the same sums (where the
  platform policy says it is faster)."""
  rows, cols = _band(z.shape[-3]), _band(z.shape[-2])
  return jnp.einsum('yh,...hwc,xw->...yxc', rows, z, cols, precision=lax.Precision.HIGHEST)


def _dm_pix_ssim(a, b):
  h, w = a.shape[-3:-1]
  by_matmul = FILTER_SIZE <= min(h, w) and policy.ssim_window_by_matmul(h, w)
  return dm_pix.ssim(a, b, max_val=1.0, filter_size=FILTER_SIZE, filter_sigma=FILTER_SIGMA,
                     filter_fn=_gaussian_by_matmul if by_matmul else None)


def ssim(a, b, conv: Convention = Convention()):
  """Per-image SSIM of a against b, arrays [B,H,W,C] in [0, 1]."""
  return _dm_pix_ssim(prepare(a, conv), prepare(b, conv))


def psnr_ssim(a, b, conv: Convention = Convention()):
  a, b = prepare(a, conv), prepare(b, conv)
  return dm_pix.psnr(a, b), _dm_pix_ssim(a, b)
