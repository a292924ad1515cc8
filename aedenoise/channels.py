"""Images whose channels are not the model's: a grey model restores a colour photo, a colour model
a grey one.

* A grey model on a colour image: `per_channel` restores R, G and B as three grey images (noise in
  every channel is removed); `luma` restores only the BT.601 luma and keeps the chroma as it is
  (a third of the work; chroma noise stays). docs/BENCHMARKS.md compares the two on Kodak24.
* A colour model on a grey image: the grey channel three times, and the mean of the three
  restored channels back.
"""
from __future__ import annotations

from typing import Callable

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


def adapt(restore: Callable[[list[np.ndarray]], list[np.ndarray]], images: list[np.ndarray],
          model_channels: int, mode: str = 'per_channel') -> list[np.ndarray]:
  """`restore` (float (H, W, model_channels) images -> restored) applied to float images of 1 or 3
  channels, each returned with its own channels."""
  if mode not in MODES:
    raise ValueError(f'channel mode must be one of {", ".join(MODES)}, got {mode!r}')
  inputs, joins = [], []
  for image in images:
    c = image.shape[-1]
    if c == model_channels:
      inputs.append(image)
      joins.append((1, lambda outs: outs[0]))
    elif model_channels == 1 and mode == 'per_channel':
      inputs += [image[..., i:i + 1] for i in range(c)]
      joins.append((c, lambda outs: np.concatenate(outs, axis=-1)))
    elif model_channels == 1:
      ycc = image @ _TO_YCC.T
      inputs.append(ycc[..., :1])
      joins.append((1, lambda outs, ycc=ycc: np.concatenate([outs[0], ycc[..., 1:]], -1)
                    @ _FROM_YCC.T))
    else:
      inputs.append(np.repeat(image, model_channels, axis=-1))
      joins.append((1, lambda outs: outs[0].mean(axis=-1, keepdims=True)))
  outputs, results, i = restore(inputs), [], 0
  for count, join in joins:
    results.append(join(outputs[i:i + count]))
    i += count
  return results
