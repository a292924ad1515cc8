"""PSNR/SSIM convention: dm-pix as configured here equals scikit-image's reference definitions."""
import os

import dm_pix
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from skimage import metrics as skm

from aedenoise import metrics
from aedenoise.input_pipeline import images as image_io
from conftest import shared_dataset


def _sk_ssim(a, b):
  return skm.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                   use_sample_covariance=False, data_range=1.0, channel_axis=-1)


def _pairs(rng, shape, n=3):
  clean = rng.random((n, *shape)).astype(np.float32)
  noisy = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
  return noisy, clean


@pytest.mark.parametrize('shape', [(40, 56, 1), (33, 47, 3)])
def test_psnr_ssim_match_scikit_image(shape):
  noisy, clean = _pairs(np.random.default_rng(0), shape)
  psnr, ssim = metrics.psnr_ssim(noisy, clean)
  for i in range(len(clean)):
    assert abs(float(psnr[i]) - skm.peak_signal_noise_ratio(clean[i], noisy[i], data_range=1.0)) < 1e-3
    assert abs(float(ssim[i]) - _sk_ssim(noisy[i], clean[i])) < 1e-3


def test_psnr_ssim_on_real_photos():
  root = shared_dataset('set12')
  rng = np.random.default_rng(1)
  for rel in image_io.list_images(root)[:4]:
    clean = image_io.read_image(os.path.join(root, rel), 1).astype(np.float32) / 255.0
    noisy = np.clip(clean + rng.normal(0, 25 / 255, clean.shape), 0, 1).astype(np.float32)
    psnr, ssim = metrics.psnr_ssim(noisy[None], clean[None])
    assert abs(float(psnr[0]) - skm.peak_signal_noise_ratio(clean, noisy, data_range=1.0)) < 0.01
    assert abs(float(ssim[0]) - _sk_ssim(noisy, clean)) < 1e-3
    assert 20 < float(psnr[0]) < 23  # sigma 25/255 noise: ~20.2 dB before clipping helps a little


def test_convention_options():
  noisy, clean = _pairs(np.random.default_rng(2), (24, 24, 3), n=2)
  quantized = metrics.Convention(quantize=True)
  q = lambda x: np.round(x * 255) / 255
  np.testing.assert_allclose(metrics.psnr(noisy, clean, quantized),
                             metrics.psnr(q(noisy), q(clean)), rtol=1e-6)
  cropped = metrics.Convention(crop_border=4)
  np.testing.assert_allclose(metrics.psnr(noisy, clean, cropped),
                             metrics.psnr(noisy[:, 4:-4, 4:-4], clean[:, 4:-4, 4:-4]), rtol=1e-6)
  luma = metrics.Convention(y_channel=True)
  assert metrics.prepare(clean, luma).shape == (2, 24, 24, 1)
  white = metrics.rgb_to_y(np.ones((1, 3), np.float32))
  np.testing.assert_allclose(white, [[235 / 255]], rtol=1e-6)  # BT.601 studio range
  assert np.isinf(float(metrics.psnr(clean, clean)[0]))


@pytest.mark.parametrize('shape', [(3, 100, 100, 1), (2, 11, 40, 3), (2, 300, 20, 1)])
def test_ssim_window_by_matmul_equals_dm_pix_own_filter(shape):
  a = jax.random.uniform(jax.random.key(0), shape)
  b = jnp.clip(a + 0.2 * jax.random.normal(jax.random.key(1), shape), 0, 1)
  np.testing.assert_allclose(metrics.ssim(a, b), dm_pix.ssim(a, b, max_val=1.0), atol=1e-6)
