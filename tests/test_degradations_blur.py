"""Blurs and downsampling: unit-sum kernels, scipy.ndimage on the same kernels, PIL's resize."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage import data

from aedenoise import degradations
from aedenoise.degradations import blur, resize

KEY = jax.random.key(0)
CAMERA = data.camera()[100:196, 100:196]  # a real photo crop, 96x96 uint8
X = jnp.asarray(CAMERA, jnp.float32)[..., None] / 255.0


def _kernels():
  keys = jax.random.split(KEY, 3)
  return {
      'gaussian': blur.gaussian_kernel(2.0),
      'gaussian_aniso': blur.gaussian_kernel(3.0, 0.7, 30.0),
      'gaussian_zero': blur.gaussian_kernel(0.0),
      'line': blur.line_kernel(9.0, 20.0),
      'line_short': blur.line_kernel(0.3, 0.0),
      **{f'trajectory{i}': blur.trajectory_kernel(k, 12.0, 1.5) for i, k in enumerate(keys)},
      'disk': blur.disk_kernel(4.0),
      'disk_small': blur.disk_kernel(0.2),
  }


@pytest.mark.parametrize('name,kernel', list(_kernels().items()))
def test_kernels_are_non_negative_and_sum_to_one(name, kernel):
  k = np.asarray(kernel)
  assert k.shape == (blur.DEFAULT_SIZE, blur.DEFAULT_SIZE), name
  assert k.min() >= 0
  assert k.sum() == pytest.approx(1.0, abs=1e-5)


def test_kernels_have_the_stated_geometry():
  r = blur.DEFAULT_SIZE // 2
  offsets = np.arange(-r, r + 1)
  u, v = offsets[None, :], -offsets[:, None]
  # Gaussian: second moment sigma^2 along each axis; anisotropic at 90 degrees is the transpose.
  k = np.asarray(blur.gaussian_kernel(2.0))
  assert (k * u ** 2).sum() == pytest.approx(4.0, rel=0.01)
  aniso = np.asarray(blur.gaussian_kernel(3.0, 1.0, 0.0))
  np.testing.assert_allclose(np.asarray(blur.gaussian_kernel(3.0, 1.0, 90.0)), aniso.T, atol=1e-6)
  # Uniform motion over a segment of length L: centred, variance L^2 / 12 (+1/6 from the bilinear
  # splat), and nothing across the direction of motion.
  line = np.asarray(blur.line_kernel(12.0, 0.0))
  assert (line * u).sum() == pytest.approx(0.0, abs=1e-5)
  assert (line * u ** 2).sum() == pytest.approx(12.0 ** 2 / 12 + 1 / 6, rel=0.03)
  assert np.all(line[v[:, 0] != 0] == 0)
  np.testing.assert_allclose(np.asarray(blur.line_kernel(12.0, 90.0)), line.T, atol=1e-6)
  # A random trajectory is centred on its mean point, so it does not shift the image.
  traj = np.asarray(blur.trajectory_kernel(KEY, 12.0, 1.5))
  assert abs((traj * u).sum()) < 0.05 and abs((traj * v).sum()) < 0.05
  assert not np.allclose(traj, np.asarray(blur.trajectory_kernel(jax.random.key(1), 12.0, 1.5)))
  # Disk: support within radius + 0.5, area pi r^2 (the linear edge keeps it exact on average).
  disk = np.asarray(blur.disk_kernel(5.0))
  assert np.all(disk[np.hypot(u, v) > 5.5] == 0)
  assert (disk / disk.max()).sum() == pytest.approx(np.pi * 25, rel=0.02)  # in pixel units


def test_gaussian_blur_equals_scipy_gaussian_filter():
  """scipy's filter with the same truncation radius; its 'reflect' is numpy's 'symmetric'."""
  sigma, size = 1.7, 15
  ours = np.asarray(blur.gaussian_blur(None, X, sigma=sigma, size=size))[..., 0]
  ref = ndimage.gaussian_filter(np.asarray(X[..., 0], np.float64), sigma, mode='reflect',
                                truncate=(size // 2) / sigma)
  np.testing.assert_allclose(ours[8:-8, 8:-8], ref[8:-8, 8:-8], atol=2e-6)  # interior
  np.testing.assert_allclose(ours, ref, atol=2e-6)  # and, the boundary being the same, everywhere


@pytest.mark.parametrize('kind,params,kernel', [
    ('gaussian_blur', {'sigma': 2.5, 'sigma_y': 0.8, 'angle': 30.0},
     lambda: blur.gaussian_kernel(2.5, 0.8, 30.0)),
    ('motion_blur', {'length': 11.0, 'angle': 60.0}, lambda: blur.line_kernel(11.0, 60.0)),
    ('defocus_blur', {'radius': 3.5}, lambda: blur.disk_kernel(3.5)),
])
def test_blurs_equal_scipy_convolve_with_their_kernel(kind, params, kernel):
  ours = np.asarray(degradations.build_single({'kind': kind, **params})(KEY, X))[..., 0]
  k = np.asarray(kernel(), np.float64)
  for mode, boundary in (('reflect', 'symmetric'), ('wrap', 'wrap')):
    ref = ndimage.convolve(np.asarray(X[..., 0], np.float64), k, mode=mode)
    got = ours if boundary == 'symmetric' else np.asarray(
        blur.convolve(X, jnp.asarray(k, jnp.float32), boundary))[..., 0]
    np.testing.assert_allclose(got[10:-10, 10:-10], ref[10:-10, 10:-10], atol=2e-6)
    np.testing.assert_allclose(got, ref, atol=2e-6)


def test_random_motion_blur_is_a_true_convolution_with_its_kernel():
  """Asymmetric kernels tell convolution from correlation: scipy.convolve flips, as we do."""
  spec = {'kind': 'random_motion_blur', 'length': 10.0, 'jitter': 3.0}
  key = jax.random.key(5)
  ours = np.asarray(degradations.build_single(spec)(key, X))[..., 0]
  # build_single splits the image key into (parameters, function) keys; rebuild that kernel.
  k = np.asarray(blur.trajectory_kernel(jax.random.split(key)[1], 10.0, 3.0), np.float64)
  assert not np.allclose(k, k[::-1, ::-1], atol=1e-3)
  ref = ndimage.convolve(np.asarray(X[..., 0], np.float64), k, mode='reflect')
  np.testing.assert_allclose(ours, ref, atol=2e-6)


def test_blur_keeps_flat_images_and_the_mean():
  flat = jnp.full((32, 32, 3), 0.4)
  for spec in degradations.resolve('blur_mix')['options'].values():
    y = np.asarray(degradations.build_single(spec)(KEY, flat))
    np.testing.assert_allclose(y, 0.4, atol=1e-5)
  y = np.asarray(blur.gaussian_blur(None, X, sigma=2.0, boundary='wrap'))
  assert y.mean() == pytest.approx(float(X.mean()), abs=1e-5)  # wrap: exactly mean-preserving


# ----------------------------------------------------------------------------- downsampling


@pytest.mark.parametrize('factor,shape', [(2, (48, 48)), (4, (24, 24)), (3, (32, 32)), (5, (19, 19))])
def test_downsample_sizes(factor, shape):
  for method in resize.METHODS:
    y = degradations.build_single({'kind': 'downsample', 'factor': factor, 'method': method})(KEY, X)
    assert y.shape == shape + (1,)
    back = degradations.build_single({'kind': 'downsample', 'factor': factor, 'method': method,
                                      'resize_back': True})(KEY, X)
    assert back.shape == X.shape


def test_downsample_conventions():
  x = np.asarray(X[..., 0])
  nearest = np.asarray(resize.downsample(None, X, factor=2, method='nearest'))[..., 0]
  np.testing.assert_array_equal(nearest, x[1::2, 1::2])  # half-pixel centres: odd pixels
  box = np.asarray(resize.downsample(None, X, factor=2, method='bilinear', antialias=False))[..., 0]
  np.testing.assert_allclose(box, x.reshape(48, 2, 48, 2).mean(axis=(1, 3)), atol=1e-6)
  area = np.asarray(resize.downsample(None, X, factor=4, method='area'))[..., 0]
  np.testing.assert_allclose(area, x.reshape(24, 4, 24, 4).mean(axis=(1, 3)), atol=1e-6)
  # The image-quality study's NNI baseline: each small pixel repeated factor x factor times.
  nni = np.asarray(degradations.build_single(
      degradations.resolve('sr_x4_nni'))(KEY, X))[..., 0]
  small = np.asarray(resize.downsample(None, X, factor=4, method='bilinear'))[..., 0]
  np.testing.assert_array_equal(nni, np.repeat(np.repeat(small, 4, 0), 4, 1))


@pytest.mark.parametrize('method,pil,max_levels,mean_levels', [
    ('nearest', Image.NEAREST, 0, 0.0),
    ('bilinear', Image.BILINEAR, 1, 0.3),
    # PIL rounds to 8 bits between its two cubic passes; the rare larger gap sits on sharp edges.
    ('bicubic', Image.BICUBIC, 6, 0.3),
])
@pytest.mark.parametrize('factor', [2, 4])
def test_downsample_matches_pil_resize(method, pil, max_levels, mean_levels, factor):
  ours = np.asarray(resize.downsample(None, X, factor=factor, method=method))[..., 0]
  ref = np.asarray(Image.fromarray(CAMERA).resize((96 // factor,) * 2, pil), np.float64)
  diff = np.abs(np.round(ours * 255) - ref)
  assert diff.max() <= max_levels and diff.mean() <= mean_levels
