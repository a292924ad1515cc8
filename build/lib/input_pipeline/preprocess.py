"""Host-side geometry: bring a decoded example to the training/evaluation size. Nothing else.

Rules (documented in docs/DATA.md):
* `resize`: the whole image is resized to the target size (aspect not kept), as Keras'
  `load_img(target_size=...)` does for the dual-autoencoder study.
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
  pil = Image.fromarray(image[..., 0] if c == 1 else image)
  out = np.asarray(pil.resize((size[1], size[0]), RESAMPLING[method]))
  return out.reshape(size[0], size[1], c)


def _enlarged(image: np.ndarray, size) -> np.ndarray:
  """`image` upscaled (aspect kept, bicubic) until a crop of `size` fits, if it is smaller."""
  h, w = image.shape[:2]
  if h >= size[0] and w >= size[1]:
    return image
  scale = max(size[0] / h, size[1] / w)
  return resize(image, (max(size[0], int(np.ceil(h * scale))), max(size[1], int(np.ceil(w * scale)))),
                'bicubic')


def _corner(hw, size, rng: np.random.Generator | None) -> tuple[int, int]:
  """Top-left corner of a crop of `size` in an image of `hw`: random, or centred if rng is None."""
  (h, w), (ch, cw) = hw, size
  if rng is None:
    return (h - ch) // 2, (w - cw) // 2
  return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))


def fit(image: np.ndarray, size, mode: str, rng: np.random.Generator | None,
        method: str = 'bicubic') -> np.ndarray:
  """Crop or resize `image` (uint8 HWC) to `size`; `rng=None` means a centred crop."""
  size = tuple(size)
  if mode == 'resize':
    return resize(image, size, method)
  if mode != 'crop':
    raise ValueError(f'fit mode must be one of {FIT_MODES}, got {mode!r}')
  image = _enlarged(image, size)
  top, left = _corner(image.shape[:2], size, rng)
  return image[top:top + size[0], left:left + size[1]]


def input_scale(target: np.ndarray, image: np.ndarray) -> int:
  """How many target pixels one pixel of `image` spans along each axis (1 for a same-size pair)."""
  (th, tw), (h, w) = target.shape[:2], image.shape[:2]
  if th % h or tw % w or th // h != tw // w:
    raise ValueError(f'an input of {w}x{h} is not its {tw}x{th} target shrunk by one integer factor')
  return th // h


def fit_example(example: dict, size, mode: str, rng: np.random.Generator | None,
                method: str = 'bicubic') -> dict:
  """`fit` for an example {'target': image, 'input': image (optional), 'label': ...}.

  A paired input is cut at the same place as its target: an input s times smaller (a low-resolution
  image from disk) is cropped on its own grid at 1/s of the target's position, so the two stay
  aligned. Entries other than images pass through.
  """
  target, other = example['target'], example.get('input')
  if other is None:
    return {**example, 'target': fit(target, size, mode, rng, method)}
  size = tuple(size)
  s = input_scale(target, other)
  if size[0] % s or size[1] % s:
    raise ValueError(f'image size {size} is not a multiple of the input\'s scale {s}')
  small = (size[0] // s, size[1] // s)
  if mode == 'resize':
    return {**example, 'target': resize(target, size, method), 'input': resize(other, small, method)}
  if mode != 'crop':
    raise ValueError(f'fit mode must be one of {FIT_MODES}, got {mode!r}')
  if s == 1:
    target, other = _enlarged(target, size), _enlarged(other, size)
  elif other.shape[0] < small[0] or other.shape[1] < small[1]:
    raise ValueError(f'an input of {other.shape[1]}x{other.shape[0]} is smaller than its '
                     f'{small[1]}x{small[0]} crop')
  top, left = _corner(other.shape[:2], small, rng)
  return {**example, 'input': other[top:top + small[0], left:left + small[1]],
          'target': target[s * top:s * top + size[0], s * left:s * left + size[1]]}
