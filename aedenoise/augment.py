"""Training inputs on the device: uint8 batch -> (input, target) floats, with optional augmentation.

Augmentation (flips, rot90, hue, brightness, as the real-noise SIDD study uses) runs inside the
jitted train step through dm-pix, before the degradation, so the host pipeline stays a plain
decode-and-crop and the device does the arithmetic. Every image draws its own transform from
`fold_in(step key, AUGMENT_SALT)`; the degradation keeps using the step key itself, so switching
augmentation on or off leaves the noise of a run unchanged. An input read from disk (a real noisy
partner, or a low-resolution image) gets the same transform as its target: the transforms draw
their decisions from the image's key alone, whatever the image's size.
"""
from __future__ import annotations

import functools
from typing import Callable

import dm_pix as pix
import jax
import jax.numpy as jnp

from aedenoise.errors import UserError

AUGMENT_SALT = 0x0A06  # any fixed constant: separates augmentation keys from degradation keys
Prepare = Callable[[jax.Array, dict], tuple[jax.Array, jax.Array]]


def _rot90(key, image):
  k = jax.random.randint(key, (), 0, 4)
  return jax.lax.switch(k, [functools.partial(pix.rot90, k=i) for i in range(4)], image)


OPTIONS = ('flip_left_right', 'flip_up_down', 'rot90', 'hue', 'brightness')


def build(augment_cfg, image_size, channels: int):
  """`augment(key, images[B, H, W, C]) -> images`, or None when everything is off. The same key
  gives the same transform to images of any size (an input and its target)."""
  if augment_cfg is None:
    return None
  unknown = set(augment_cfg.keys()) - set(OPTIONS)
  if unknown:
    raise UserError(f'unknown augment option(s): {", ".join(sorted(unknown))}')
  missing = set(OPTIONS) - set(augment_cfg.keys())
  if missing:  # configs are merged with configs/default.py's fields once, before they get here
    raise UserError(f'config.augment lacks {", ".join(sorted(missing))}')
  cfg = augment_cfg
  flip_lr, flip_ud = bool(cfg.flip_left_right), bool(cfg.flip_up_down)
  rot90, hue, brightness = bool(cfg.rot90), float(cfg.hue), float(cfg.brightness)
  if rot90 and image_size[0] != image_size[1]:
    raise UserError(f'augment.rot90 needs square images; data.image_size is {tuple(image_size)}')
  if hue and channels != 3:
    raise UserError('augment.hue needs RGB images (data.channels=3)')
  if hue < 0 or brightness < 0:
    raise UserError('augment.hue and augment.brightness are maximum shifts and must be >= 0')
  if not (flip_lr or flip_ud or rot90 or hue or brightness):
    return None

  def one(key, image):
    k_lr, k_ud, k_rot, k_hue, k_bright = jax.random.split(key, 5)
    if flip_lr:
      image = pix.random_flip_left_right(k_lr, image)
    if flip_ud:
      image = pix.random_flip_up_down(k_ud, image)
    if rot90:
      image = _rot90(k_rot, image)
    if hue:
      image = pix.random_hue(k_hue, image, hue)
    if brightness:
      image = pix.random_brightness(k_bright, image, brightness)
    return jnp.clip(image, 0.0, 1.0)

  def augment(key, images):
    return jax.vmap(one)(jax.random.split(key, images.shape[0]), images)
  return augment


def make_prepare(degrade, augment_cfg, image_size, channels: int,
                 make_target=lambda key, clean, degrade: clean) -> Prepare:
  """`prepare(step_key, batch) -> (input, target)` floats in [0, 1].

  `batch['target']` holds uint8 clean images; the input is `batch['input']` when the source read
  one from disk, else the target degraded here with `degrade` (which may change its size). The
  target is `make_target(step_key, clean, degrade)` (a training method's; the clean image itself
  for supervised training), or the clean image read from disk beside an input.
  """
  augment = build(augment_cfg, image_size, channels)

  def prepare(key, batch):
    as_float = lambda x: x.astype(jnp.float32) / 255.0
    target = as_float(batch['target'])
    given = as_float(batch['input']) if 'input' in batch else None
    if augment is not None:
      akey = jax.random.fold_in(key, AUGMENT_SALT)
      target = augment(akey, target)
      given = augment(akey, given) if given is not None else None
    if given is not None:
      return given, target
    return degrade(key, target), make_target(key, target, degrade)
  return prepare
