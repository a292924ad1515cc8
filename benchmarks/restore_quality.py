"""How restore treats what the model was not trained on: colour photos through a grey model
(channel by channel vs on the luma) and the outermost pixels (the one-pixel frame vs the inside).

    python benchmarks/restore_quality.py --workdir=W --images=../shared/data/kodak24 \
        [--sigma=25] [--limit=0] [--max_memory=0] [--grey]

Each clean photo gets the benchmarks' Gaussian noise (seed = its index), is restored by W's model
with each channel mode, and is scored against the clean photo: PSNR over the whole image, over its
one-pixel frame, and over the rest. Prints a Markdown table and the peak resident memory.
"""
import argparse
import os
import resource
import sys

import numpy as np
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import aedenoise  # pylint: disable=g-import-not-at-top,wrong-import-position
from aedenoise.input_pipeline import images as image_io  # pylint: disable=g-import-not-at-top,wrong-import-position
from aedenoise.restoration import channels  # pylint: disable=g-import-not-at-top,wrong-import-position


def psnr(restored: np.ndarray, clean: np.ndarray) -> float:
  """8-bit images or pixel sets of any shape."""
  return float(peak_signal_noise_ratio(clean, restored, data_range=255))


def frame(image: np.ndarray) -> np.ndarray:
  return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--workdir', required=True)
  parser.add_argument('--images', required=True)
  parser.add_argument('--sigma', type=float, default=25)
  parser.add_argument('--limit', type=int, default=0)
  parser.add_argument('--max_memory', type=int, default=0)
  parser.add_argument('--grey', action='store_true', help='read the photos as grey (one mode)')
  args = parser.parse_args()
  names = image_io.list_images(args.images)[:args.limit or None]
  modes = ('per_channel',) if args.grey else channels.MODES  # a grey photo has no chroma
  models = {m: aedenoise.load(args.workdir, channel_mode=m, max_memory_mb=args.max_memory)
            for m in modes}
  rows = {m: [] for m in ('input', *modes)}
  for i, name in enumerate(names):
    clean = np.asarray(Image.open(os.path.join(args.images, name)).convert(
        'L' if args.grey else 'RGB'))
    noisy8 = aedenoise.degrade(clean, f'gaussian_s{args.sigma:g}', seed=i)  # uint8, as saved
    outs = {'input': noisy8, **{m: model(noisy8) for m, model in models.items()}}
    for m, out in outs.items():
      rows[m].append((psnr(out, clean), psnr(frame(out), frame(clean)),
                      psnr(out[1:-1, 1:-1], clean[1:-1, 1:-1])))
  step = next(iter(models.values())).step
  print(f'{len(names)} images of {args.images}, Gaussian sigma {args.sigma:g}, model '
        f'{args.workdir} (step {step}, {models["per_channel"].channels} channel(s))\n')
  print('| method | PSNR (dB) | one-pixel frame | inside | frame - inside |')
  print('|---|---:|---:|---:|---:|')
  for m, values in rows.items():
    whole, border, inside = np.mean(values, axis=0)
    print(f'| {m} | {whole:.2f} | {border:.2f} | {inside:.2f} | {border - inside:+.2f} |')
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
  print(f'\npeak resident memory {peak:.2f} GB')


if __name__ == '__main__':
  main()
