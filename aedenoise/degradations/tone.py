"""Brightness changes (the image-quality study's darkened and brightened images). Deterministic: the key is unused.

Both scale the image: darken by (1 - amount), brighten by (1 + amount), so the image-quality study's
"proportion 30-60 %" is amount in (0.3, 0.6). quantize=True follows its uint8 arithmetic, which
truncates: darken is numpy `floor_divide(p, 100 / level)` and brighten is PIL
`ImageEnhance.Brightness`, whose blend with black truncates too; both are floor(p * factor) on the
8-bit value p = round(255 x). That is exact for factors like 0.5 and 1.5; for others the paper's own
float rounding (of 100 / level in float64, of level / 100 in float32) can put a product that is an
integer one level lower.
"""
import jax.numpy as jnp

from aedenoise.degradations.params import declare, in_unit_interval, non_negative


def _scale(x, factor, quantize):
  if quantize:
    return jnp.floor(jnp.round(x * 255.0) * factor) / 255.0
  return x * factor


@declare(static=('quantize',), check=lambda p: in_unit_interval(p, 'amount'))
def darken(key, x, *, amount, quantize=False):
  """y = x * (1 - amount). The image-quality study's darkness_level L is amount = 1 - L / 100."""
  del key
  return _scale(x, 1.0 - amount, quantize)


@declare(static=('quantize',), check=lambda p: non_negative(p, 'amount'))
def brighten(key, x, *, amount, clip=True, quantize=False):
  """y = x * (1 + amount), clipped at 1 unless clip=False. brightness_level L: amount = L/100 - 1."""
  del key
  y = _scale(x, 1.0 + amount, quantize)
  return jnp.clip(y, 0.0, 1.0) if clip else y
