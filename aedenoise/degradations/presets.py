"""Named degradation recipes of the source studies, usable as `config.degradation = '<name>'`."""
from __future__ import annotations

import copy

# Seed 000 (dual autoencoders): one of four noises per image, strength drawn from a range. The
# seed names the centres (speckle variance 0.02, about 30% impulse pixels) and says it used
# scikit-image's `random_noise`, whose defaults are Gaussian variance 0.01 and, for 8-bit images,
# Poisson with 256 levels. Its "Gaussian variance 10" is read on the 0-255 scale of the lower end.
# The ranges around those centres are this project's choice (the seed's code is not public).
SEED000_MIX = {
    'kind': 'one_of',
    'options': {
        'gaussian': {'kind': 'gaussian', 'sigma': (0.05, 0.15)},
        'poisson': {'kind': 'poisson', 'peak': (32.0, 256.0)},
        'speckle': {'kind': 'speckle', 'var': (0.01, 0.03)},
        'impulse': {'kind': 'salt_pepper', 'amount': (0.2, 0.4), 'salt_ratio': 0.5},
    },
}

PRESETS = {
    'seed000_mix': SEED000_MIX,
}


def resolve(spec_or_name):
  """A preset name -> a fresh copy of its spec; anything else is returned as is."""
  if isinstance(spec_or_name, str):
    if spec_or_name not in PRESETS:
      from aedenoise.degradations.core import DegradationError  # pylint: disable=g-import-not-at-top
      raise DegradationError(
          f'unknown degradation preset {spec_or_name!r}; known: {", ".join(sorted(PRESETS))}')
    return copy.deepcopy(PRESETS[spec_or_name])
  return spec_or_name
