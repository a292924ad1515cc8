"""Named degradation recipes of the source studies, usable as `config.degradation = '<name>'`."""
from __future__ import annotations

import copy

from aedenoise.degradations.core import DegradationError

# The dual-autoencoder study: one of four noises per image, its strength drawn from a range. The
# paper names speckle variance 0.02 and about 30% impulse pixels, says it used scikit-image's
# `random_noise` (defaults: Gaussian variance 0.01, Poisson with 256 levels for 8-bit images) and
# gives Gaussian noise as "mean 0, variance 10": sigma 3.2 on the 0-255 scale (0.012 on [0, 1]),
# or 3.2 on [0, 1]. Neither reading matches the sigma range below (0.05-0.15 on [0, 1], around
# random_noise's default 0.1); the ranges are this project's choice (the paper's code is not
# public), and docs/STUDIES.md says so.
FACES_MIX = {
    'kind': 'one_of',
    'options': {
        'gaussian': {'kind': 'gaussian', 'sigma': (0.05, 0.15)},
        'poisson': {'kind': 'poisson', 'peak': (32.0, 256.0)},
        'speckle': {'kind': 'speckle', 'var': (0.01, 0.03)},
        'impulse': {'kind': 'salt_pepper', 'amount': (0.2, 0.4), 'salt_ratio': 0.5},
    },
}

# The real-noise (SIDD) study trains on real (SIDD) noise; its noise level function, variance a*y + b, is background.
# The ranges give noise standard deviations of about 0.02-0.11 at mid grey, the span of the SIDD
# sample pairs (std 7.9-37.7 on the 0-255 scale); this project's choice.
SIDD_NLF = {'kind': 'poisson_gaussian', 'a': (0.001, 0.02), 'b': (0.0001, 0.002)}

# The MNIST study: noisy = clip(X + 0.5 * N(0, 1), 0, 1).
MNIST_GAUSSIAN = {'kind': 'gaussian', 'sigma': 0.5, 'mean': 0.0, 'clip': True}

# The benchmarks' grey Gaussian noise at sigma 25 on the 0-255 scale, unclipped as DnCNN and KAIR
# add it (aedenoise/benchmark.py), to train a model for the sigma-25 tables.
GAUSSIAN_S25 = {'kind': 'gaussian', 'sigma': 25 / 255, 'mean': 0.0, 'clip': False}

# The CIFAR-10 study (its code, source/noisy.py): Type-I is Gaussian with a non-zero mean, Type-II is
# x(1 + n); both clip after every step, and each image gets one of four cases uniformly. Case
# "type2_type1" follows the code (Gaussian mean 0.1, std 0.08); the paper's Table 1 says 0.2 / 0.05.
CIFAR_TYPE1 = {'kind': 'gaussian', 'mean': 0.3, 'sigma': 0.05, 'clip': True}
CIFAR_TYPE2 = {'kind': 'multiplicative', 'mean': 0.8, 'sigma': 0.5, 'clip': True}
CIFAR_TYPE2_TYPE1 = {'kind': 'sequence', 'steps': {
    'type2': {'kind': 'multiplicative', 'mean': 0.2, 'sigma': 0.2, 'clip': True},
    'type1': {'kind': 'gaussian', 'mean': 0.1, 'sigma': 0.08, 'clip': True}}}
CIFAR_TYPE1_TYPE2 = {'kind': 'sequence', 'steps': {
    'type1': {'kind': 'gaussian', 'mean': 0.2, 'sigma': 0.05, 'clip': True},
    'type2': {'kind': 'multiplicative', 'mean': 0.2, 'sigma': 0.1, 'clip': True}}}
CIFAR_MIX = {'kind': 'one_of', 'options': {
    'type2': CIFAR_TYPE2, 'type1': CIFAR_TYPE1,
    'type2_type1': CIFAR_TYPE2_TYPE1, 'type1_type2': CIFAR_TYPE1_TYPE2}}

# The image-quality study: "proportion of noise 30-60 %" for every noise (its text). Colourful noise is random-colour
# pixels in the text and N(0, 0.2^2) per pixel and channel in the code (noise_level 20 ->
# int(0.2 * 255) / 255); both are here.
_QUALITY_AMOUNT = (0.3, 0.6)
QUALITY_SALT_PEPPER = {'kind': 'salt_pepper', 'amount': _QUALITY_AMOUNT, 'salt_ratio': 0.5}
QUALITY_COLOUR = {'kind': 'colour_pixels', 'amount': _QUALITY_AMOUNT}
QUALITY_COLOUR_ADDITIVE = {'kind': 'gaussian', 'sigma': 0.2, 'per_channel': True, 'clip': True}
QUALITY_DARKEN = {'kind': 'darken', 'amount': _QUALITY_AMOUNT}
QUALITY_BRIGHTEN = {'kind': 'brighten', 'amount': _QUALITY_AMOUNT, 'clip': True}
QUALITY_MIX = {'kind': 'one_of', 'options': {
    'salt_pepper': QUALITY_SALT_PEPPER, 'colour_pixels': QUALITY_COLOUR,
    'colour_additive': QUALITY_COLOUR_ADDITIVE, 'darken': QUALITY_DARKEN,
    'brighten': QUALITY_BRIGHTEN}}
# Super-resolution inputs: 360 -> 180 (deconvolution net) and 360 -> 90 (ResNet), bilinear. The
# `_nni` variants enlarge back by nearest neighbour: the same size as the target, so any model can
# train on them, and the "nearest-neighbour interpolation" baseline row of the paper's table.
SR_X2 = {'kind': 'downsample', 'factor': 2, 'method': 'bilinear'}
SR_X4 = {'kind': 'downsample', 'factor': 4, 'method': 'bilinear'}
SR_X2_NNI = dict(SR_X2, resize_back=True, up_method='nearest')
SR_X4_NNI = dict(SR_X4, resize_back=True, up_method='nearest')

# Deblurring (the dual-autoencoder study's title and its reference paper, which give no blur parameters): strengths
# are this project's choice, all within the default 21 x 21 window.
BLUR_MIX = {'kind': 'one_of', 'options': {
    'gaussian_blur': {'kind': 'gaussian_blur', 'sigma': (0.5, 3.0)},
    'motion_blur': {'kind': 'motion_blur', 'length': (3.0, 15.0), 'angle': (0.0, 180.0)},
    'random_motion_blur': {'kind': 'random_motion_blur', 'length': (3.0, 15.0), 'jitter': 1.5},
    'defocus_blur': {'kind': 'defocus_blur', 'radius': (1.0, 4.0)}}}

PRESETS = {
    'faces_mix': FACES_MIX,
    'sidd_nlf': SIDD_NLF,
    'mnist_gaussian': MNIST_GAUSSIAN,
    'gaussian_s25': GAUSSIAN_S25,
    'cifar_type1': CIFAR_TYPE1,
    'cifar_type2': CIFAR_TYPE2,
    'cifar_type2_type1': CIFAR_TYPE2_TYPE1,
    'cifar_type1_type2': CIFAR_TYPE1_TYPE2,
    'cifar_mix': CIFAR_MIX,
    'quality_salt_pepper': QUALITY_SALT_PEPPER,
    'quality_colour': QUALITY_COLOUR,
    'quality_colour_additive': QUALITY_COLOUR_ADDITIVE,
    'quality_darken': QUALITY_DARKEN,
    'quality_brighten': QUALITY_BRIGHTEN,
    'quality_mix': QUALITY_MIX,
    'sr_x2': SR_X2,
    'sr_x4': SR_X4,
    'sr_x2_nni': SR_X2_NNI,
    'sr_x4_nni': SR_X4_NNI,
    'blur_mix': BLUR_MIX,
    'identity': {'kind': 'identity'},
}
# Presets whose output is smaller than their input: for models that enlarge (super-resolution).
SIZE_CHANGING = ('sr_x2', 'sr_x4')


def resolve(spec_or_name):
  """A preset name -> a fresh copy of its spec; anything else is returned as is."""
  if isinstance(spec_or_name, str):
    if spec_or_name not in PRESETS:
      raise DegradationError(
          f'unknown degradation preset {spec_or_name!r}; known: {", ".join(sorted(PRESETS))}')
    return copy.deepcopy(PRESETS[spec_or_name])
  return spec_or_name
