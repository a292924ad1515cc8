"""The Python entry point: a trained model as a function of NumPy images.

    import aedenoise
    model = aedenoise.load('pretrained/unet_grey_blind')   # any workdir, or a packaged one
    clean = model(noisy)                                    # H x W or H x W x C, uint8 or float

An image of any size goes through overlapping tiles; it comes back with its own shape and dtype
(uint8 in, uint8 out; float in [0, 1] in, float out). A grey model restores a colour image channel
by channel, a colour model a grey one through three equal channels (aedenoise/channels.py).
`model.restore_batch(images)` takes a list; `aedenoise.degrade(image, 'gaussian_s25', seed=0)`
adds the noise the benchmarks use, to try a model on a clean photo.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from aedenoise import channels, degradations, inference, parallel, validation
from aedenoise import workdir as workdir_lib
from aedenoise.errors import UserError


@dataclasses.dataclass
class Denoiser:
  """A workdir's model, restoring NumPy images. `step`: the checkpoint's training step."""
  restorer: inference.Restorer
  config: object
  step: int
  channel_mode: str = 'per_channel'

  @property
  def channels(self) -> int:
    return self.restorer.geometry.channels

  def restore_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
    """Each image restored, with its own shape and dtype."""
    floats, kinds = [], []
    for image in images:
      image = np.asarray(image)
      if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3)):
        raise UserError(f'an image is H x W or H x W x C with C 1 or 3, got shape {image.shape}')
      kinds.append((image.shape, image.dtype))
      as_float = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image
      floats.append(np.asarray(as_float, np.float32).reshape(image.shape[0], image.shape[1], -1))
    restored = channels.adapt(self.restorer.restore_iter, floats, self.channels, self.channel_mode)
    out = []
    for image, (shape, dtype) in zip(restored, kinds):
      image = np.clip(image, 0.0, 1.0)
      if dtype == np.uint8:
        image = np.round(image * 255.0).astype(np.uint8)
      out.append(image.astype(dtype, copy=False).reshape(shape))
    return out

  def __call__(self, image: np.ndarray) -> np.ndarray:
    return self.restore_batch([image])[0]


def load(workdir: str, config=None, tile: int = 0, overlap: int = -1,
         channel_mode: str = 'per_channel', max_memory_mb: int = 0) -> Denoiser:
  """The newest checkpoint of `workdir` (its config.json unless `config` is given). `tile`,
  `overlap` and `max_memory_mb` as --mode=restore's flags; `channel_mode` 'per_channel' or 'luma'
  for colour images with a grey model."""
  config = config if config is not None else workdir_lib.load_config(workdir)
  if config is None:
    raise UserError(f'{workdir} holds no config.json; pass the model\'s config')
  validation.validate(config)
  mesh = parallel.create_mesh()
  loaded = inference.load_model(config, workdir, mesh)
  restorer = inference.Restorer(loaded.model, loaded.variables, config, mesh, tile, overlap,
                                max_memory_mb=max_memory_mb)
  return Denoiser(restorer, config, loaded.step, channel_mode)


def degrade(image: np.ndarray, degradation='gaussian_s25', seed: int = 0) -> np.ndarray:
  """`image` (uint8, or float in [0, 1]) degraded by a preset name or spec, as float32: fixed by
  `seed`. Noise is not clipped where the preset does not clip (the benchmarks' Gaussian noise)."""
  image = np.asarray(image)
  x = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
  fn = degradations.build_single(degradations.resolve(degradation))
  out = fn(jax.random.key(seed), jnp.asarray(x.reshape(x.shape[0], x.shape[1], -1)))
  return np.asarray(out).reshape(out.shape if image.ndim == 3 else image.shape[:2])
