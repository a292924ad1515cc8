"""Training inputs on the device: uint8 batch -> (noisy, clean) floats, with optional augmentation.

Augmentation (seed 001: flips, rot90, hue, brightness) runs inside the jitted train step through
dm-pix, before the degradation, so the host pipeline stays a plain decode-and-crop and the device does
the arithmetic. Every image draws its own transform from `fold_in(step key, AUGMENT_SALT)`; the
degradation keeps using the step key itself, so switching augmentation on or off leaves the noise of
a run unchanged. A noisy/clean pair gets one transform for both images.
"""
from __future__ import annotations

import functools
from typing import Callable

import dm_pix as pix
import jax
import jax.numpy as jnp

from aedenoise.errors import UserError

AUGMENT_SALT = 0x0A06  # any fixed constant: separates augmentation keys from degradation keys
Prepare = Callable[[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]


def _rot90(key, image):
  k = jax.random.randint(key, (), 0, 4)
  return jax.lax.switch(k, [functools.partial(pix.rot90, k=i) for i in range(4)], image)


def build(augment_cfg, image_size, channels: int):
  """`augment(key, images[B, H, W, G*channels]) -> images`, or None when everything is off.

  The channel axis may hold G images of `channels` channels each (a noisy/clean pair): geometric
  transforms move all of them together and colour transforms draw one value for all of them.
  """
  cfg = dict(augment_cfg.items()) if augment_cfg is not None else {}
  unknown = set(cfg) - {'flip_left_right', 'flip_up_down', 'rot90', 'hue', 'brightness'}
  if unknown:
    raise UserError(f'unknown augment option(s): {", ".join(sorted(unknown))}')
  flip_lr, flip_ud = bool(cfg.get('flip_left_right')), bool(cfg.get('flip_up_down'))
  rot90, hue, brightness = bool(cfg.get('rot90')), float(cfg.get('hue', 0)), float(cfg.get('brightness', 0))
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
    parts = jnp.split(image, image.shape[-1] // channels, axis=-1)
    if hue:
      parts = [pix.random_hue(k_hue, p, hue) for p in parts]
    if brightness:
      parts = [pix.random_brightness(k_bright, p, brightness) for p in parts]
    return jnp.clip(jnp.concatenate(parts, axis=-1), 0.0, 1.0)

  def augment(key, images):
    return jax.vmap(one)(jax.random.split(key, images.shape[0]), images)
  return augment


def make_prepare(degrade, augment_cfg, image_size, channels: int, paired: bool) -> Prepare:
  """`prepare(step_key, batch_u8) -> (noisy, clean)` in [0, 1].

  `batch_u8` is [B, H, W, C] clean images, degraded here with `degrade`; or, when `paired`,
  [B, H, W, 2C] real noisy images followed by their clean partners, used as they are.
  """
  augment = build(augment_cfg, image_size, channels)

  def prepare(key, batch):
    images = batch.astype(jnp.float32) / 255.0
    if augment is not None:
      images = augment(jax.random.fold_in(key, AUGMENT_SALT), images)
    if paired:
      return images[..., :channels], images[..., channels:]
    return degrade(key, images), images
  return prepare
