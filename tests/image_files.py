"""Writes small image files of every kind the folder sources must handle, good and broken."""
import io
import os

import numpy as np
from PIL import Image


def smooth_image(seed: int, height: int, width: int, channels: int = 1) -> np.ndarray:
  """A uint8 image with structure (so crops differ) that compresses well."""
  rng = np.random.default_rng(seed)
  y, x = np.mgrid[0:height, 0:width]
  planes = [127 + 120 * np.sin(x / rng.uniform(3, 9) + rng.uniform(0, 6)) *
            np.cos(y / rng.uniform(3, 9)) for _ in range(channels)]
  return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def write(path: str, image: Image.Image, **kwargs) -> str:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  image.save(path, **kwargs)
  return path


def truncated(data: bytes) -> bytes:
  return data[:len(data) // 2]


def encoded(image: Image.Image, fmt: str) -> bytes:
  buf = io.BytesIO()
  image.save(buf, format=fmt)
  return buf.getvalue()


def make_mixed_folder(root: str, size: int = 120) -> dict[str, list[str]]:
  """Good images of every format/mode (one in a subfolder) plus broken files.

  Returns {'good': [...], 'broken_header': [...], 'broken_pixels': [...]} relative paths:
  header-broken files are found when the folder is opened, pixel-broken ones when decoded.
  """
  gray = lambda s: Image.fromarray(smooth_image(s, size, size, 1)[..., 0])
  rgb = lambda s: Image.fromarray(smooth_image(s, size, size, 3))
  good = {
      'gray.png': (gray(0), {}),
      'rgb.jpg': (rgb(1), {'quality': 95}),
      'rgba.png': (Image.fromarray(np.dstack([smooth_image(2, size, size, 3),
                                              np.full((size, size), 200, np.uint8)])), {}),
      'palette.png': (rgb(3).convert('P'), {}),
      'cmyk.jpg': (rgb(4).convert('CMYK'), {}),
      'sixteen.png': (Image.fromarray(smooth_image(5, size, size, 1)[..., 0].astype(np.uint16) * 257),
                      {}),
      'pic.bmp': (gray(6), {}),
      'pic.tif': (rgb(7), {}),
      'pic.webp': (rgb(8), {'lossless': True}),
      'tiny.png': (gray(9).resize((5, 3)), {}),
      'sub/dir/deep.png': (gray(10), {}),
      'more1.png': (gray(11), {}),
      'more2.png': (gray(12), {}),
      'more3.png': (gray(13), {}),
  }
  for name, (img, kwargs) in good.items():
    write(os.path.join(root, name), img, **kwargs)
  broken_header = {
      'empty.png': b'',
      'text.jpg': b'this is not an image\n' * 20,
      'garbage.png': bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8)),
      'cut.png': truncated(encoded(gray(14), 'PNG')),
  }
  broken_pixels = {'cut.jpg': truncated(encoded(rgb(15), 'JPEG'))}
  for name, data in {**broken_header, **broken_pixels}.items():
    with open(os.path.join(root, name), 'wb') as f:
      f.write(data)
  with open(os.path.join(root, 'notes.txt'), 'w') as f:  # not an image extension: not listed
    f.write('ignored')
  return {'good': sorted(good), 'broken_header': sorted(broken_header),
          'broken_pixels': sorted(broken_pixels)}
