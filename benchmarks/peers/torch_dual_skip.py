r"""dual_skip (91,488 parameters) trained by PyTorch eager on the CPU, as a reference for
benchmarks/train_throughput.py. Same layers, batch, BCE loss and Adam (1e-3); random images plus
Gaussian noise made once. PyTorch is not a requirement of this project (`pip install torch`).
Prints one JSON line.

  python benchmarks/peers/torch_dual_skip.py --batch_size=128 [--channels_last] [--bf16]
"""
import argparse
import json
import os
import time

import torch  # pylint: disable=g-import-not-at-top
from torch import nn  # pylint: disable=g-import-not-at-top


class DualSkip(nn.Module):
  """The notebook's dual autoencoder with skips (NCHW, valid padding)."""

  def __init__(self):
    super().__init__()
    c, t = nn.Conv2d, nn.ConvTranspose2d
    self.enc1, self.enc2, self.enc3 = c(1, 50, 3), c(50, 35, 3, 2), c(35, 25, 3, 2)
    self.dec1, self.dec2, self.ae1_out = t(25, 25, 3, 2), t(25, 25, 3, 2), t(25, 1, 6)
    self.enc2_1, self.enc2_2, self.enc2_3 = c(1, 25, 3), c(25, 25, 3), c(25, 50, 3, 2)
    self.skip1, self.skip2, self.skip3 = c(50, 25, 1), c(35, 25, 1), c(25, 50, 1)
    self.skip3_up = t(50, 1, 2)
    self.dec2_1, self.dec2_2, self.out = t(50, 50, 3, 2), t(50, 25, 3), t(25, 1, 4)
    self.up = nn.Upsample(scale_factor=2)

  def forward(self, x):
    r = torch.relu
    e1 = r(self.enc1(x))
    e2 = r(self.enc2(e1))
    e3 = r(self.enc3(e2))
    h = r(self.ae1_out(r(self.dec2(r(self.dec1(e3))))))
    h = r(self.enc2_1(h)) + r(self.skip1(e1))
    h = r(self.enc2_2(h)) + self.up(r(self.skip2(e2)))
    h = r(self.enc2_3(h)) + r(self.skip3_up(self.up(r(self.skip3(e3)))))
    return torch.sigmoid(self.out(r(self.dec2_2(r(self.dec2_1(h))))))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--batch_size', type=int, default=128)
  parser.add_argument('--steps', type=int, default=5)
  parser.add_argument('--warmup', type=int, default=2)
  parser.add_argument('--channels_last', action='store_true')
  parser.add_argument('--bf16', action='store_true', help='bfloat16 autocast of the forward pass')
  args = parser.parse_args()
  torch.set_num_threads(os.cpu_count() or 1)
  torch.manual_seed(0)
  model = DualSkip()
  fmt = torch.channels_last if args.channels_last else torch.contiguous_format
  model = model.to(memory_format=fmt)
  optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
  clean = torch.rand(args.batch_size, 1, 100, 100).to(memory_format=fmt)
  noisy = (clean + 0.1 * torch.randn_like(clean)).clamp(0, 1)
  loss_fn = nn.BCELoss()

  def step():
    optimizer.zero_grad(set_to_none=True)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=args.bf16):
      out = model(noisy)
    loss = loss_fn(out.float(), clean)
    loss.backward()
    optimizer.step()
    return loss

  for _ in range(args.warmup):
    step()
  start = time.perf_counter()
  for _ in range(args.steps):
    loss = step()
  seconds = (time.perf_counter() - start) / args.steps
  name = 'torch' + ('-channels_last' if args.channels_last else '') + ('-bf16' if args.bf16 else '')
  print(json.dumps({'implementation': name,
                    'parameters': sum(p.numel() for p in model.parameters()),
                    'batch_size': args.batch_size, 'seconds_per_step': seconds,
                    'images_per_sec': args.batch_size / seconds, 'loss': float(loss)}))


if __name__ == '__main__':
  main()
