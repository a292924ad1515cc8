"""The Python entry point: a trained model as a function of NumPy images.

    import aedenoise
    model = aedenoise.load('pretrained/unet_grey_blind')   # any workdir, or a packaged one
    clean = model(noisy)                                    # H x W or H x W x C, uint8 or float

An image of any size goes through overlapping tiles; it comes back with its own shape and dtype
(uint8 in, uint8 out; uint16 and other integers by their range; float in [0, 1] in, float out;
input_pipeline/pixels.py). A grey model restores a colour image channel by channel, a colour
model a grey one through three equal channels (aedenoise/restoration/channels.py).
`model.restore_batch(images)` takes a list; `aedenoise.degrade(image, 'gaussian_s25', seed=0)`
adds the noise the benchmarks use, to try a model on a clean photo, and returns the input's dtype.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from aedenoise import build, degradations, validation
from aedenoise.configs import default
from aedenoise.errors import UserError
from aedenoise.input_pipeline import pixels
from aedenoise.restoration import channels, inference
from aedenoise.runtime import logs, parallel
from aedenoise.runtime import workdir as workdir_lib


@dataclasses.dataclass(repr=False)
class Denoiser:
  """A workdir's model, restoring NumPy images. `step`: the checkpoint's training step."""
  restorer: inference.Restorer
  config: object
  step: int
  channel_mode: str = 'per_channel'
  workdir: str = ''

  @property
  def channels(self) -> int:
    return self.restorer.geometry.channels

  def __repr__(self) -> str:
    colour = 'colour' if self.channels == 3 else 'grey' if self.channels == 1 else (
        f'{self.channels} channels')
    return (f'Denoiser({workdir_lib.display_name(self.workdir)!r}: {build.model_label(self.config)},'
            f' {colour}, step {self.step}, channel_mode={self.channel_mode!r})')

  def restore_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
    """Each image restored, with its own shape and dtype (input_pipeline/pixels.py: uint8,
    uint16, other integers by their range, floats in [0, 1]; anything else refused in one line)."""
    floats, kinds = [], []
    for i, image in enumerate(images):
      as_float, kind = pixels.to_float(image, f'image {i}' if len(images) > 1 else 'the image')
      floats.append(as_float)
      kinds.append(kind)
    restored = channels.adapt(self.restorer.restore_iter, floats, self.channels, self.channel_mode)
    return [pixels.from_float(image, kind) for image, kind in zip(restored, kinds)]

  def __call__(self, image: np.ndarray) -> np.ndarray:
    return self.restore_batch([image])[0]


def load(workdir: str, config=None, tile: int = 0, overlap: int = -1,
         channel_mode: str = 'per_channel', max_memory_mb: int = 0) -> Denoiser:
  """The newest checkpoint of `workdir` (its config.json unless `config` is given). `tile`,
  `overlap` and `max_memory_mb` as --mode=restore's flags; `channel_mode` 'per_channel' or 'luma'
  for colour images with a grey model."""
  logs.quiet_library_logs()
  if isinstance(config, dict) and not isinstance(config, ml_collections.ConfigDict):
    config = default.from_saved(dict(config))  # a config as config.json holds it
  config = config if config is not None else workdir_lib.load_config(workdir)
  if config is None:
    raise UserError(f'{workdir} holds no config.json; pass the model\'s config')
  if channel_mode not in channels.MODES:
    raise UserError(f'channel_mode must be one of {", ".join(channels.MODES)}, got '
                    f'{channel_mode!r}')
  if max_memory_mb < 0:
    raise UserError(f'max_memory_mb must be 0 (the default) or more, got {max_memory_mb}')
  task = validation.validate(config)
  task.checked_geometry(tile, overlap)  # before reading the checkpoint
  mesh = parallel.create_mesh()
  loaded = inference.load_model(task, workdir, mesh)
  restorer = inference.Restorer(task, loaded.variables, mesh, tile, overlap,
                                max_memory_mb=max_memory_mb)
  return Denoiser(restorer, config, loaded.step, channel_mode, str(workdir))


def degrade(image: np.ndarray, degradation='gaussian_s25', seed: int = 0) -> np.ndarray:
  """`image` degraded by a preset name or spec, fixed by `seed`, in the input's dtype and scale
  (uint8 in, uint8 out: the noise rounded and clipped, as a saved noisy file holds it). For
  float images in [0, 1] the result is float and, where the preset does not clip (the
  benchmarks' Gaussian noise), may leave [0, 1]. A degradation that shrinks the image
  (`sr_x4`) gives the smaller image."""
  x, kind = pixels.to_float(image)
  fn = degradations.build_single(degradations.resolve(degradation))
  out = np.asarray(fn(jax.random.key(seed), jnp.asarray(x)))
  if len(kind.shape) == 2:
    out = out[..., 0]
  if np.issubdtype(kind.dtype, np.floating):
    return out.astype(kind.dtype, copy=False)
  return pixels.from_float(out, kind, keep_shape=False)
