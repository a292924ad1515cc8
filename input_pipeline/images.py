"""Reading and writing image files on the host: decode to uint8 HWC with the wanted channels."""
from __future__ import annotations

import contextlib
import os
import warnings

import numpy as np
from etils import epath
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
# PIL modes of single-channel images (grey, of any bit depth, with or without alpha).
GREY_MODES = ('1', 'L', 'LA', 'I', 'I;16', 'I;16B', 'I;16L', 'I;16N', 'F')


class ImageReadError(Exception):
  """A file that is not a usable image (corrupt, truncated, empty, not an image)."""

  def __init__(self, path: str, reason: str):
    super().__init__(f'{path}: {reason}')
    self.path, self.reason = path, reason


DEFAULT_MAX_PIXELS = 100_000_000
# Size limits are `max_pixels`' job (read_image, from config.data.max_pixels), checked from the
# header; PIL's own fixed limit would otherwise refuse large photos with another message.
Image.MAX_IMAGE_PIXELS = None


def list_images(root: str) -> list[str]:
  """Image files under `root` (recursive, following symlinked folders but never one already
  visited, so a link loop ends), as sorted paths relative to `root`."""
  found = []
  seen = set()
  for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
    real = os.path.realpath(dirpath)
    if real in seen:  # a link back to a folder already listed
      dirnames[:] = []
      continue
    seen.add(real)
    dirnames.sort()
    for name in filenames:
      if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith('.'):
        found.append(os.path.relpath(os.path.join(dirpath, name), root))
  return sorted(found)


def _to_8bit(img: Image.Image) -> Image.Image:
  """16- and 32-bit integer or float images -> 8-bit, keeping the full range of the type."""
  if img.mode in ('I;16', 'I;16B', 'I;16L', 'I;16N'):
    arr = np.asarray(img, np.uint16)
    return Image.fromarray((arr / 257.0 + 0.5).astype(np.uint8), 'L')
  if img.mode == 'I':
    arr = np.asarray(img, np.int64)
    scale = 65535.0 if arr.max() > 255 else 255.0
    return Image.fromarray((np.clip(arr, 0, scale) / scale * 255.0 + 0.5).astype(np.uint8), 'L')
  if img.mode == 'F':
    arr = np.asarray(img, np.float32)
    arr = arr / 255.0 if arr.max() > 1.0 else arr
    return Image.fromarray((np.clip(arr, 0, 1) * 255.0 + 0.5).astype(np.uint8), 'L')
  return img


def to_channels(img: Image.Image, channels: int) -> np.ndarray:
  """PIL image of any mode -> uint8 (H, W, channels). Alpha is composited onto black."""
  img = _to_8bit(img)
  if img.mode in ('RGBA', 'LA', 'PA') or (img.mode == 'P' and 'transparency' in img.info):
    img = img.convert('RGBA')
    background = Image.new('RGBA', img.size, (0, 0, 0, 255))
    img = Image.alpha_composite(background, img)
  if channels == 1:
    img = img.convert('L')  # ITU-R 601-2 luma, as Keras load_img(color_mode='grayscale')
  elif channels == 3:
    img = img.convert('RGB')  # also CMYK, YCbCr, palette and gray -> RGB
  else:
    raise ValueError(f'channels must be 1 or 3, got {channels}')
  arr = np.asarray(img, np.uint8)
  return arr.reshape(arr.shape[0], arr.shape[1], channels)


@contextlib.contextmanager
def _opened(path: str):
  """`Image.open(path)`; every way in which the file is not a usable image, in here or in the
  caller's block, becomes ImageReadError."""
  try:
    if os.path.getsize(path) == 0:
      raise ImageReadError(path, 'empty file')
    with warnings.catch_warnings():
      warnings.simplefilter('ignore', Image.DecompressionBombWarning)
      with Image.open(path) as img:
        yield img
  except ImageReadError:
    raise
  except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
    raise ImageReadError(path, f'{type(e).__name__}: {e}') from None


def read_image(path: str, channels: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
  """Decode `path` to uint8 (H, W, channels), EXIF orientation applied.

  Raises ImageReadError for anything that is not a complete, decodable image, and for images of
  more than `max_pixels` pixels (0 = no limit), checked from the header before decoding, so a
  decompression bomb costs nothing.
  """
  with _opened(path) as img:
    if max_pixels and img.width * img.height > max_pixels:
      raise ImageReadError(path, f'{img.width}x{img.height} is more than data.max_pixels = '
                           f'{max_pixels:,} pixels')
    img.load()
    arr = to_channels(ImageOps.exif_transpose(img), channels)
  if arr.shape[0] < 1 or arr.shape[1] < 1:
    raise ImageReadError(path, 'image has no pixels')
  return arr


def file_channels(path: str) -> int:
  """1 for a grey file, 3 otherwise (colour; also a file that does not open, whose real problem
  `read_image` reports), read from the header alone."""
  try:
    with Image.open(path) as img:
      return 1 if img.mode in GREY_MODES else 3
  except (OSError, ValueError, SyntaxError):
    return 3


def check_file(path: str) -> None:
  """Cheap validity check without decoding pixels: non-empty, a known image header, and (for
  formats that carry checksums, such as PNG) intact chunk structure. Truncated pixel data of other
  formats is only found when decoding, where the loader skips it too."""
  with _opened(path) as img:
    img.verify()


def write_image(path, image: np.ndarray) -> None:
  """Write uint8 (H, W, 1|3) or float [0, 1] image as PNG (or by extension), at a local path or
  a URL (gs://...): PIL writes into an epath file object, so it is told the format."""
  if image.dtype != np.uint8:
    image = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
  if image.ndim == 3 and image.shape[-1] == 1:
    image = image[..., 0]
  target = epath.Path(os.path.abspath(path) if '://' not in os.fspath(path) else path)
  target.parent.mkdir(parents=True, exist_ok=True)
  image_format = Image.registered_extensions().get(target.suffix.lower(), 'PNG')
  with target.open('wb') as f:
    Image.fromarray(image).save(f, format=image_format)
