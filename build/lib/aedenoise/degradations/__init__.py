"""Degradations applied on the accelerator, inside the jitted step. See `core.py` for specs."""
from aedenoise.degradations.core import (COMPOSITIONS, REGISTRY, DegradationError, build,
                                         build_single, components, degrade_with_keys)
from aedenoise.degradations.keys import named_key
from aedenoise.degradations.presets import PRESETS, SIZE_CHANGING, resolve
from aedenoise.degradations.resize import UPSCALING

__all__ = ['COMPOSITIONS', 'REGISTRY', 'PRESETS', 'SIZE_CHANGING', 'UPSCALING',
           'DegradationError', 'build', 'build_single', 'components', 'degrade_with_keys',
           'named_key', 'resolve']
