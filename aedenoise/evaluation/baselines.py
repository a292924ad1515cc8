"""Classic denoisers that every denoising table lists next to a learned model.

Each method maps a noisy float image in [0, 1] (H, W, C) and the noise's standard deviation on the
same scale to a restored image. They run on the host with NumPy, SciPy, scikit-image and the `bm3d`
package (`baseline_runner` runs them in parallel and caches the results). Parameters are fixed here,
chosen as the libraries' documentation does, so that a table is reproducible from its method names:

* median: 3x3 median filter per channel.
* gaussian: Gaussian filter, 1 pixel standard deviation.
* wiener: adaptive Wiener filter (MATLAB wiener2) over 5x5 windows with the given noise variance.
* tv: total variation, `denoise_tv_chambolle` with weight = sigma.
* wavelet: `denoise_wavelet`, BayesShrink, soft thresholds, colour in YCbCr.
* nlm: `denoise_nl_means`, 5x5 patches, 13x13 search, h = 0.8 sigma (scikit-image's example).
* bm3d: `bm3d.bm3d` (grey) or `bm3d.bm3d_rgb` (colour), all stages, sigma_psd = sigma.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from aedenoise.errors import UserError

# Parameters of each method; they are part of the cache key, so changing one recomputes its rows.
PARAMS = {
    'median': {'size': 3},
    'gaussian': {'sigma': 1.0},
    'wiener': {'size': 5},
    'tv': {'weight_per_sigma': 1.0},
    'wavelet': {'method': 'BayesShrink', 'mode': 'soft'},
    'nlm': {'patch_size': 5, 'patch_distance': 6, 'h_per_sigma': 0.8},
    'bm3d': {'stages': 'all'},
}
ESTIMATED_SUFFIX = '-est'  # method name suffix of rows whose noise level was estimated


def _per_channel(fn, x):
  return np.stack([fn(x[..., c]) for c in range(x.shape[-1])], axis=-1)


def median(x, sigma):
  del sigma
  from scipy import ndimage  # pylint: disable=g-import-not-at-top
  return _per_channel(lambda c: ndimage.median_filter(c, size=PARAMS['median']['size']), x)


def gaussian(x, sigma):
  del sigma
  from scipy import ndimage  # pylint: disable=g-import-not-at-top
  s = PARAMS['gaussian']['sigma']
  return _per_channel(lambda c: ndimage.gaussian_filter(c, s, mode='reflect'), x)


def wiener(x, sigma):
  from scipy import signal  # pylint: disable=g-import-not-at-top
  size = PARAMS['wiener']['size']
  return _per_channel(lambda c: signal.wiener(c, size, noise=sigma ** 2), x)


def tv(x, sigma):
  from skimage.restoration import denoise_tv_chambolle  # pylint: disable=g-import-not-at-top
  weight = PARAMS['tv']['weight_per_sigma'] * sigma
  return denoise_tv_chambolle(x, weight=weight, channel_axis=-1)


def wavelet(x, sigma):
  from skimage.restoration import denoise_wavelet  # pylint: disable=g-import-not-at-top
  p = PARAMS['wavelet']
  return denoise_wavelet(x, sigma=sigma, method=p['method'], mode=p['mode'], rescale_sigma=True,
                         channel_axis=-1, convert2ycbcr=x.shape[-1] == 3)


def nlm(x, sigma):
  from skimage.restoration import denoise_nl_means  # pylint: disable=g-import-not-at-top
  p = PARAMS['nlm']
  return denoise_nl_means(x, h=p['h_per_sigma'] * sigma, sigma=sigma, patch_size=p['patch_size'],
                          patch_distance=p['patch_distance'], fast_mode=True, channel_axis=-1)


def bm3d(x, sigma):
  import bm3d as bm3d_lib  # pylint: disable=g-import-not-at-top
  if x.shape[-1] == 3:
    return bm3d_lib.bm3d_rgb(x, sigma)
  return bm3d_lib.bm3d(x[..., 0], sigma)[..., None]


METHODS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    'median': median, 'gaussian': gaussian, 'wiener': wiener, 'tv': tv, 'wavelet': wavelet,
    'nlm': nlm, 'bm3d': bm3d}


def parse(text: str | None) -> list[str]:
  """'bm3d, nlm' -> ['bm3d', 'nlm']; 'all' -> every method; UserError naming unknown ones."""
  names = [n.strip() for n in (text or '').split(',') if n.strip()]
  if names == ['all']:
    return list(METHODS)
  unknown = [n for n in names if n not in METHODS]
  if unknown:
    raise UserError(f'unknown baseline(s) {", ".join(unknown)}; known: {", ".join(METHODS)}, all')
  return list(dict.fromkeys(names))


def estimate_sigma(x: np.ndarray) -> float:
  """The noise's standard deviation from the image alone (wavelet MAD, scikit-image)."""
  from skimage.restoration import estimate_sigma as skimage_estimate  # pylint: disable=g-import-not-at-top
  return float(skimage_estimate(x, channel_axis=-1, average_sigmas=True))


def method_label(method: str, estimated: bool) -> str:
  return method + ESTIMATED_SUFFIX if estimated else method


def denoise(method: str, noisy: np.ndarray, sigma: float) -> np.ndarray:
  """`method` applied to one float (H, W, C) image; float32 (H, W, C) in [0, 1]."""
  out = METHODS[method](np.asarray(noisy, np.float64), float(sigma))
  return np.clip(np.asarray(out, np.float32).reshape(noisy.shape), 0.0, 1.0)
