"""Host-side geometry: bring a decoded image to the training/evaluation size. Nothing else.

Rules (documented in docs/DATA.md):
* `resize`: the whole image is resized to the target size (aspect not kept), as Keras'
  `load_img(target_size=...)` does for seed 000.
* `crop`: a crop of the target size, random for training and centred for evaluation. An image smaller
  than the crop in either dimension is first upscaled (aspect kept, bicubic) until it fits.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

RESAMPLING = {
    'nearest': Image.Resampling.NEAREST,
    'bilinear': Image.Resampling.BILINEAR,
    'bicubic': Image.Resampling.BICUBIC,
    'lanczos': Image.Resampling.LANCZOS,
    'box': Image.Resampling.BOX,
}
FIT_MODES = ('crop', 'resize')


def resize(image: np.ndarray, size: tuple[int, int], method: str = 'bicubic') -> np.ndarray:
  h, w, c = image.shape
  if (h, w) == tuple(size):
    return image
  if c not in (1, 3):  # stacked noisy/clean pairs: PIL filters each channel independently anyway
    return np.concatenate([resize(image[..., i:i + 1], size, method) for i in range(c)], axis=-1)
  pil = Image.fromarray(image[..., 0] if c == 1 else image)
  out = np.asarray(pil.resize((size[1], size[0]), RESAMPLING[method]))
  return out.reshape(size[0], size[1], c)


def fit(image: np.ndarray, size, mode: str, rng: np.random.Generator | None,
        method: str = 'bicubic') -> np.ndarray:
  """Crop or resize `image` (uint8 HWC) to `size`; `rng=None` means a centred crop."""
  size = tuple(size)
  if mode == 'resize':
    return resize(image, size, method)
  if mode != 'crop':
    raise ValueError(f'fit mode must be one of {FIT_MODES}, got {mode!r}')
  h, w = image.shape[:2]
  if h < size[0] or w < size[1]:
    scale = max(size[0] / h, size[1] / w)
    image = resize(image, (max(size[0], int(np.ceil(h * scale))),
                           max(size[1], int(np.ceil(w * scale)))), 'bicubic')
    h, w = image.shape[:2]
  if rng is None:
    top, left = (h - size[0]) // 2, (w - size[1]) // 2
  else:
    top, left = int(rng.integers(0, h - size[0] + 1)), int(rng.integers(0, w - size[1] + 1))
  return image[top:top + size[0], left:left + size[1]]
