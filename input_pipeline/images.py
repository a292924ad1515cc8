"""Reading and writing image files on the host: every format Pillow decodes, listed by extension;
decoded to uint8 HWC with the wanted channels (training), or to floats that keep 16-bit grey at
full precision (restore, degrade); written whole or not at all (aedenoise/runtime/paths.py)."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import stat
import warnings

import numpy as np
from PIL import EpsImagePlugin, Image, ImageFile, ImageOps

from aedenoise.runtime import paths

# Formats Pillow recognises without decoding their pixels (its "identify-only" formats); stub
# plugins (BUFR, GRIB, HDF5, WMF) are left out too, since they decode only through a handler that
# an application registers.
_IDENTIFY_ONLY = ('MPEG',)


def _decodes(fmt: str) -> bool:
  factory = Image.OPEN[fmt][0]
  if isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile):
    return False
  if fmt == 'EPS':  # Pillow rasterises PostScript through Ghostscript
    return bool(EpsImagePlugin.has_ghostscript())
  return fmt not in _IDENTIFY_ONLY


def _readable_extensions() -> tuple[str, ...]:
  Image.init()  # registers every plugin, so the list does not depend on what was imported first
  return tuple(sorted(ext for ext, fmt in Image.registered_extensions().items()
                      if fmt in Image.OPEN and _decodes(fmt)))


# The file names listed as images: every extension of a format this Pillow decodes (.png, .jpg,
# .tif, .webp, .gif, .pgm/.ppm/.pnm, .tga, ...). Animated files give their first frame.
IMAGE_EXTENSIONS = _readable_extensions()
# PIL modes of single-channel images (grey, of any bit depth, with or without alpha).
GREY_MODES = ('1', 'L', 'LA', 'I', 'I;16', 'I;16B', 'I;16L', 'I;16N', 'F')
# PIL modes that carry an alpha channel.
ALPHA_MODES = ('RGBA', 'RGBa', 'LA', 'La', 'PA')
# Grey modes of more than 8 bits, which `read_float` keeps at full precision.
DEEP_GREY_MODES = ('I', 'I;16', 'I;16B', 'I;16L', 'I;16N', 'F')


class ImageReadError(Exception):
  """A file that is not a usable image (corrupt, truncated, empty, not an image)."""

  def __init__(self, path: str, reason: str):
    super().__init__(f'{path}: {reason}')
    self.path, self.reason = path, reason


DEFAULT_MAX_PIXELS = 100_000_000
# Size limits are `max_pixels`' job (read_image, from config.data.max_pixels), checked from the
# header; PIL's own fixed limit would otherwise refuse large photos with another message.
Image.MAX_IMAGE_PIXELS = None


@dataclasses.dataclass
class Listing:
  """The files under a folder: `images` by their extension, the `ignored` others, and the
  `special` entries that are no regular files (FIFOs, sockets, devices: opening one may wait
  forever), as sorted paths relative to the folder; hidden files are in none."""
  images: list[str]
  ignored: list[str]
  special: list[str] = dataclasses.field(default_factory=list)


def is_special(path: str) -> bool:
  """Whether `path` (links followed) exists and is no regular file or folder: a FIFO, a socket or
  a device, which no reader may open (a FIFO blocks until someone writes to it)."""
  try:
    mode = os.stat(path).st_mode
  except OSError:  # missing or a broken link: the reader reports it
    return False
  return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def scan_folder(root: str) -> Listing:
  """The files under `root` (recursive, following symlinked folders but never one already
  visited, so a link loop ends), split into images, others and special files; the one input
  check every folder reader goes through before any file is opened."""
  images, ignored, special = [], [], []
  seen = set()
  for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
    real = os.path.realpath(dirpath)
    if real in seen:  # a link back to a folder already listed
      dirnames[:] = []
      continue
    seen.add(real)
    dirnames.sort()
    for name in filenames:
      if not name.startswith('.'):
        rel = os.path.relpath(os.path.join(dirpath, name), root)
        if is_special(os.path.join(dirpath, name)):
          special.append(rel)
        else:
          (images if name.lower().endswith(IMAGE_EXTENSIONS) else ignored).append(rel)
  return Listing(sorted(images), sorted(ignored), sorted(special))


def list_images(root: str) -> list[str]:
  """Image files under `root` (`scan_folder`), as sorted paths relative to it."""
  return scan_folder(root).images


def first_few(items, limit: int = 3) -> str:
  """'a, b, c and 4 more': the first `limit` of `items`, for one-line summaries."""
  items = list(items)
  shown = ', '.join(str(i) for i in items[:limit])
  return shown + (f' and {len(items) - limit} more' if len(items) > limit else '')


def ignored_note(listing: Listing, root: str) -> str | None:
  """One line about the files under `root` that were not read as images, or None."""
  parts = []
  if listing.ignored:
    parts.append(f'ignored {len(listing.ignored)} file(s) under {root} whose names are not of an '
                 f'image format Pillow reads: {first_few(listing.ignored)}')
  if listing.special:
    parts.append(f'ignored {len(listing.special)} file(s) under {root} that are no regular files '
                 f'(FIFOs, sockets, devices): {first_few(listing.special)}')
  return '; '.join(parts) or None


def _to_8bit(img: Image.Image) -> Image.Image:
  """16- and 32-bit integer or float images -> 8-bit, keeping the full range of the type."""
  if img.mode in ('I;16', 'I;16B', 'I;16L', 'I;16N'):
    arr = np.asarray(img, np.uint16)
    return Image.fromarray((arr / 257.0 + 0.5).astype(np.uint8), 'L')
  if img.mode == 'I':
    arr = np.asarray(img, np.int64)
    scale = 65535.0 if arr.max() > 255 else 255.0
    return Image.fromarray((np.clip(arr, 0, scale) / scale * 255.0 + 0.5).astype(np.uint8), 'L')
  if img.mode == 'F':  # [0, 1] by the type (as read_float reads it)
    arr = np.clip(np.asarray(img, np.float32), 0, 1)
    return Image.fromarray((arr * 255.0 + 0.5).astype(np.uint8), 'L')
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


def _check_size(path: str, img: Image.Image, max_pixels: int) -> None:
  if max_pixels and img.width * img.height > max_pixels:
    raise ImageReadError(path, f'{img.width}x{img.height} is more than data.max_pixels = '
                         f'{max_pixels:,} pixels')
  if img.width < 1 or img.height < 1:
    raise ImageReadError(path, 'image has no pixels')


def read_image(path: str, channels: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
  """Decode `path` (its first frame) to uint8 (H, W, channels), EXIF orientation applied.

  Raises ImageReadError for anything that is not a complete, decodable image, and for images of
  more than `max_pixels` pixels (0 = no limit), checked from the header before decoding, so a
  decompression bomb costs nothing.
  """
  with _opened(path) as img:
    _check_size(path, img, max_pixels)
    img.load()
    return to_channels(ImageOps.exif_transpose(img), channels)


@dataclasses.dataclass(frozen=True)
class Header:
  """What a file's header says: its size once EXIF orientation is applied, frames, and depth."""
  width: int
  height: int
  frames: int
  deep_grey: bool  # more than 8 bits of grey: `read_float` keeps them all
  narrowed: bool   # more than 8 bits per sample that Pillow decodes at 8 (colour, grey + alpha)
  alpha: bool = False  # transparency (an alpha channel, or a transparent palette entry or colour)


def stored_size(path: str) -> tuple[int, int] | None:
  """(height, width) as the file's header stores it (no orientation applied, nothing else read,
  so a file cut short after its header still has one), or None when there is no image header."""
  try:
    with _opened(path) as img:
      return img.height, img.width
  except ImageReadError:
    return None


def read_header(path: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Header:
  """The header of `path`, without decoding pixels; ImageReadError as `read_image`."""
  with _opened(path) as img:
    _check_size(path, img, max_pixels)
    w, h = img.size
    wide = any(';16' in str(tile.args) for tile in (img.tile or ()))  # before getexif loads it
    if img.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientations that turn the image
      w, h = h, w
    return Header(w, h, int(getattr(img, 'n_frames', 1)), img.mode in DEEP_GREY_MODES,
                  wide and img.mode not in DEEP_GREY_MODES,
                  img.mode in ALPHA_MODES or 'transparency' in img.info)


def read_float(path: str, channels: int, max_pixels: int = DEFAULT_MAX_PIXELS
               ) -> tuple[np.ndarray, int]:
  """(float32 (H, W, channels) in [0, 1], bits): `read_image`, except that grey of more than 8
  bits keeps its precision (bits 16, also for a 32-bit integer or float file); 8 otherwise."""
  with _opened(path) as img:
    _check_size(path, img, max_pixels)
    img.load()
    img = ImageOps.exif_transpose(img)
    if img.mode in DEEP_GREY_MODES:
      grey = _deep_grey(img)
      if grey is not None:
        return np.repeat(grey[..., None], channels, axis=-1), 16
    return to_channels(img, channels).astype(np.float32) / 255.0, 8


def _deep_grey(img: Image.Image) -> np.ndarray | None:
  """A grey image of more than 8 bits as float32 in [0, 1] (None when its values fit in 8 bits):
  integers over 16 bits (value/65535, as `_to_8bit` maps them), floats in [0, 1] (clipped)."""
  if img.mode == 'F':  # floats are [0, 1] by their type, whatever one pixel holds
    return np.clip(np.asarray(img, np.float32), 0.0, 1.0)
  arr = np.asarray(img, np.int64 if img.mode == 'I' else np.uint16)
  if img.mode == 'I' and arr.max() <= 255:
    return None
  return (np.clip(arr, 0, 65535) / 65535.0).astype(np.float32)


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


def can_write_bits(channels: int, bits: int) -> bool:
  """Whether `write_image` keeps `bits` per sample: Pillow writes 16 bits for grey only."""
  return bits == 8 or (bits == 16 and channels == 1)


def encode(image: np.ndarray, image_format: str = 'PNG', bits: int = 8) -> bytes:
  """uint8 (H, W, 1|3), or float [0, 1] at `bits` (8, or 16 for grey), as an image file."""
  if not can_write_bits(image.shape[-1] if image.ndim == 3 else 1, bits):
    raise ValueError(f'{bits}-bit files of {image.shape[-1]} channels cannot be written')
  if image.dtype != np.uint8:
    top, dtype = (65535.0, np.uint16) if bits == 16 else (255.0, np.uint8)
    image = np.round(np.clip(image, 0.0, 1.0) * top).astype(dtype)
  if image.ndim == 3 and image.shape[-1] == 1:
    image = image[..., 0]
  buffer = io.BytesIO()
  Image.fromarray(image).save(buffer, format=image_format)
  return buffer.getvalue()


def write_image(path, image: np.ndarray, bits: int = 8) -> None:
  """Writes `image` (see `encode`) as PNG (or by extension), at a local path or a URL (gs://...),
  whole or not at all: a file killed midway is never left half-written."""
  target = paths.absolute(path)
  target.parent.mkdir(parents=True, exist_ok=True)
  image_format = Image.registered_extensions().get(target.suffix.lower(), 'PNG')
  paths.write_bytes(target, encode(image, image_format, bits))
