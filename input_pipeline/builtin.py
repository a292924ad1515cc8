"""Sources that need no files: procedural dead-leaves images and crops of the photos that
scikit-image ships in its wheel (`builtin:dead_leaves`, `builtin:skimage`)."""
from __future__ import annotations

import numpy as np
from PIL import Image
from skimage import data as skimage_data

from aedenoise.input_pipeline import images as image_io
from aedenoise.input_pipeline import preprocess
from aedenoise.input_pipeline.dead_leaves import DeadLeaves
from aedenoise.input_pipeline.errors import SourceError

# Real photos that scikit-image ships in its wheel (no download).
SKIMAGE_PHOTOS = ('astronaut', 'camera', 'chelsea', 'coffee', 'coins', 'moon', 'rocket', 'clock',
                  'brick', 'grass', 'gravel', 'immunohistochemistry')


class SkimagePhotos:
  """Crops of the photos scikit-image ships: four per photo, from a 2x2 grid of the photo
  downscaled (box filter) so that its shorter side is twice the crop."""

  def __init__(self, image_size, channels):
    self.name = 'skimage'
    crops = []
    h, w = image_size
    for photo in SKIMAGE_PHOTOS:
      arr = np.asarray(getattr(skimage_data, photo)())
      arr = image_io.to_channels(Image.fromarray(arr), channels)
      scale = 2 * max(h, w) / min(arr.shape[:2])
      arr = preprocess.resize(arr, (max(2 * h, round(arr.shape[0] * scale)),
                                    max(2 * w, round(arr.shape[1] * scale))), 'box')
      top, left = (arr.shape[0] - 2 * h) // 2, (arr.shape[1] - 2 * w) // 2
      for dy in (0, h):
        for dx in (0, w):
          crops.append(arr[top + dy:top + dy + h, left + dx:left + dx + w])
    self.images = np.stack(crops)

  def __len__(self):
    return len(self.images)

  def __getitem__(self, index):
    return {'target': self.images[index]}


BUILTINS = {
    'dead_leaves': lambda size, channels, data_cfg: DeadLeaves(
        size, channels, seed=int(data_cfg.builtin_seed)),
    'skimage': lambda size, channels, data_cfg: SkimagePhotos(size, channels),
}


def open_builtin(arg: str, data_cfg, split: str):
  """`builtin:NAME`, at the configured image size and channels (no splits: `split` is 'all')."""
  del split
  if arg not in BUILTINS:
    raise SourceError(f'unknown builtin source {arg!r}; known: {", ".join(BUILTINS)}')
  return BUILTINS[arg](tuple(data_cfg.image_size), int(data_cfg.channels), data_cfg)
