"""Degradations applied on the accelerator, inside the jitted step. See `core.py` for specs."""
from aedenoise.degradations.core import (COMPOSITIONS, REGISTRY, DegradationError, build,
                                         build_single, components, degrade_with_keys)
from aedenoise.degradations.presets import PRESETS, SIZE_CHANGING, resolve

__all__ = ['COMPOSITIONS', 'REGISTRY', 'PRESETS', 'SIZE_CHANGING', 'DegradationError', 'build',
           'build_single', 'components', 'degrade_with_keys', 'resolve']
