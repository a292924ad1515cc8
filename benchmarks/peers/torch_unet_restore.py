r"""The shipped U-Net (aedenoise/models/unet.py) in PyTorch, restoring one whole photo on the CPU:
the peer of benchmarks/restore_throughput.py, which writes the weights, the noisy photo and its
own restoration into one .npz and runs this file from a venv holding torch and numpy only.

  python benchmarks/peers/torch_unet_restore.py --npz=FILE [--rounds=5] [--threads=0]

Prints one JSON line per layout (NCHW, channels_last): megapixels/s (median of `rounds` timed
calls after one warm-up) and the largest difference from the project's restoration in 8-bit
levels, so the two are known to compute the same function.
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch
from torch import nn


class UNet(nn.Module):
  """The same layers as aedenoise's UNet: per scale two 3x3 convolutions with ReLU, 2x2 stride-2
  convolutions down, 2x2 stride-2 transposed convolutions up with the encoder's features
  concatenated, a 1x1 convolution out, the noise subtracted from the input (`residual`)."""

  def __init__(self, channels: int, features, residual: bool):
    super().__init__()
    self.features, self.residual = list(features), residual
    conv = lambda i, o: nn.Conv2d(i, o, 3, padding=1)
    self.layers = nn.ModuleDict()
    prev = channels
    for s, f in enumerate(self.features):
      if s:
        self.layers[f'down_{s}'] = nn.Conv2d(prev, f, 2, stride=2)
      self.layers[f'enc_{s}_1'] = conv(f if s else prev, f)  # after down_{s}: f channels
      self.layers[f'enc_{s}_2'] = conv(f, f)
      prev = f
    for s in range(len(self.features) - 2, -1, -1):
      f = self.features[s]
      self.layers[f'up_{s}'] = nn.ConvTranspose2d(prev, f, 2, stride=2)
      self.layers[f'dec_{s}_1'], self.layers[f'dec_{s}_2'] = conv(2 * f, f), conv(f, f)
      prev = f
    self.layers['out'] = nn.Conv2d(prev, channels, 1)

  def forward(self, x):
    relu, layer = torch.relu, self.layers
    skips, h = [], x
    for s in range(len(self.features)):
      if s:
        h = layer[f'down_{s}'](h)
      h = relu(layer[f'enc_{s}_2'](relu(layer[f'enc_{s}_1'](h))))
      skips.append(h)
    for s in range(len(self.features) - 2, -1, -1):
      h = torch.cat([layer[f'up_{s}'](h), skips[s]], dim=1)
      h = relu(layer[f'dec_{s}_2'](relu(layer[f'dec_{s}_1'](h))))
    out = layer['out'](h)
    return x - out if self.residual else out


def load_weights(model: UNet, data) -> None:
  """Flax HWIO kernels -> PyTorch OIHW; a Flax transposed kernel (transpose_kernel=False) is
  PyTorch's (in, out, kh, kw) with both spatial axes flipped."""
  with torch.no_grad():
    for name, module in model.layers.items():
      kernel = data[f'{name}/kernel']
      if isinstance(module, nn.ConvTranspose2d):
        weight = kernel[::-1, ::-1].transpose(2, 3, 0, 1)
      else:
        weight = kernel.transpose(3, 2, 0, 1)
      module.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
      module.bias.copy_(torch.from_numpy(data[f'{name}/bias']))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--npz', required=True)
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--threads', type=int, default=0, help='0: PyTorch\'s default')
  args = parser.parse_args()
  if args.threads:
    torch.set_num_threads(args.threads)
  data = np.load(args.npz)
  noisy, ours = data['noisy_u8'], data['restored_u8']  # (H, W, C) uint8
  model = UNet(noisy.shape[-1], data['features'].tolist(), bool(data['residual'])).eval()
  load_weights(model, data)
  h, w = noisy.shape[:2]
  margin, multiple = int(data['margin']), 2 ** (len(data['features']) - 1)
  pad_h, pad_w = -(h + 2 * margin) % multiple, -(w + 2 * margin) % multiple
  for layout in ('NCHW', 'channels_last'):
    net = model.to(memory_format=torch.channels_last) if layout == 'channels_last' else model

    def restore():
      # uint8 in and out, as the project's API: conversion and rounding are part of the time.
      # The border rule is the project's: mirrored outwards by `margin` ('reflect'), then cropped.
      x = torch.from_numpy(noisy).permute(2, 0, 1)[None].float() / 255.0
      x = torch.nn.functional.pad(x, (margin, margin + pad_w, margin, margin + pad_h), 'reflect')
      if layout == 'channels_last':
        x = x.contiguous(memory_format=torch.channels_last)
      with torch.inference_mode():
        y = net(x)[0, :, margin:margin + h, margin:margin + w]
      return (y.permute(1, 2, 0).clamp(0, 1) * 255.0).round().to(torch.uint8).numpy()
    restore()
    times = []
    for _ in range(args.rounds):
      start = time.perf_counter()
      out = restore()
      times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    print(json.dumps({'peer': f'PyTorch {torch.__version__} eager, {layout}',
                      'threads': torch.get_num_threads(), 'seconds': round(seconds, 4),
                      'megapixels_per_sec': round(h * w / 1e6 / seconds, 4),
                      'max_diff_levels': int(np.abs(out.astype(int) - ours.astype(int)).max())}))


if __name__ == '__main__':
  main()
