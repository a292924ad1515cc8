"""Images whose channels are not the model's: a grey model restores a colour photo, a colour model
a grey one.

* A grey model on a colour image: `per_channel` restores R, G and B as three grey images (noise in
  every channel is removed); `luma` restores only the BT.601 luma and keeps the chroma as it is
  (a third of the work; chroma noise stays). docs/BENCHMARKS.md compares the two on Kodak24.
* A colour model on a grey image: the grey channel three times, and the mean of the three
  restored channels back.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np

MODES = ('per_channel', 'luma')
# BT.601 full-range RGB <-> YCbCr on [0, 1] (JPEG's), so that Y of a grey pixel is its value.
_TO_YCC = np.array([[0.299, 0.587, 0.114],
                    [-0.168736, -0.331264, 0.5],
                    [0.5, -0.418688, -0.081312]], np.float32)
_FROM_YCC = np.linalg.inv(_TO_YCC).astype(np.float32)


def describe(image_channels: int, model_channels: int, mode: str = 'per_channel') -> str:
  """What `adapt` does, for a summary line ('' when the channels agree)."""
  if image_channels == model_channels:
    return ''
  if model_channels == 1:
    return ('colour restored channel by channel with the grey model' if mode == 'per_channel'
            else 'colour restored on its luma with the grey model, chroma kept')
  return 'grey restored as three equal channels with the colour model'


def split(image: np.ndarray, model_channels: int, mode: str = 'per_channel'
          ) -> tuple[list[np.ndarray], Callable[[list[np.ndarray]], np.ndarray]]:
  """(the model's inputs for a float (H, W, 1 or 3) image, a function joining their restored
  forms back into an image of the input's channels)."""
  if mode not in MODES:
    raise ValueError(f'channel mode must be one of {", ".join(MODES)}, got {mode!r}')
  c = image.shape[-1]
  if c == model_channels:
    return [image], lambda outs: outs[0]
  if model_channels == 1 and mode == 'per_channel':
    return [image[..., i:i + 1] for i in range(c)], lambda outs: np.concatenate(outs, axis=-1)
  if model_channels == 1:
    ycc = image @ _TO_YCC.T
    return [ycc[..., :1]], lambda outs: np.concatenate([outs[0], ycc[..., 1:]], -1) @ _FROM_YCC.T
  return [np.repeat(image, model_channels, axis=-1)], lambda outs: outs[0].mean(-1, keepdims=True)


def adapt_iter(restore_iter: Callable[[Iterable], Iterator],
               items: Iterable[tuple[object, np.ndarray]], model_channels: int,
               mode: str = 'per_channel') -> Iterator[tuple[object, np.ndarray]]:
  """`restore_iter` ((key, model-channel image) pairs -> (key, restored), in order) applied to
  (key, image of 1 or 3 channels) pairs: each comes back with its own channels, in order."""
  joins: dict = {}  # image number -> [key, join, parts expected, parts restored]

  def parts():
    for n, (key, image) in enumerate(items):
      inputs, join = split(image, model_channels, mode)
      joins[n] = [key, join, len(inputs), []]
      for i, x in enumerate(inputs):
        yield (n, i), x

  for (n, _), out in restore_iter(parts()):
    key, join, count, done = joins[n]
    done.append(out)
    if len(done) == count:
      del joins[n]
      yield key, join(done)


def adapt(restore_iter: Callable[[Iterable], Iterator], images: list[np.ndarray],
          model_channels: int, mode: str = 'per_channel') -> list[np.ndarray]:
  """`adapt_iter` over a list: each image restored with its own channels."""
  return [out for _, out in adapt_iter(restore_iter, enumerate(images), model_channels, mode)]
