"""`--mode=score`: PSNR/SSIM of every image in a folder against the same-named image in another."""
from __future__ import annotations

import json
import os
import sys

import jax
import numpy as np

from aedenoise import metrics
from aedenoise.errors import UserError
from aedenoise.input_pipeline import images as image_io
from aedenoise.runtime import paths


def _match(inputs: list[str], reference_dir: str) -> list[tuple[str, str]]:
  refs = {os.path.splitext(r)[0]: r for r in image_io.list_images(reference_dir)}
  pairs, missing = [], []
  for rel in inputs:
    ref = refs.get(os.path.splitext(rel)[0])
    (pairs.append((rel, ref)) if ref else missing.append(rel))
  if missing:
    raise UserError(f'{len(missing)} image(s) have no same-named reference in {reference_dir}, '
                    f'e.g. {missing[0]}')
  return pairs


def score_folders(input_dir: str, reference_dir: str, conv: metrics.Convention) -> dict:
  """Prints one row per image and the means; the last line is JSON {"psnr", "ssim", "images",
  "skipped", "grey_with_colour"} (pairs of a grey and a colour image, scored in colour, noted).
  A pair of which either file does not read is skipped, counted and named; a pair of two sizes
  is an error."""
  for flag, d in (('--input', input_dir), ('--reference', reference_dir)):
    paths.check_local_input(d, flag)
    if os.path.exists(d) and not os.path.isdir(d):
      raise UserError(f'{flag} {d} is not a folder; score compares two folders of images of the '
                      f'same names')
    if not os.path.isdir(d):
      raise UserError(f'{flag} {d}: folder not found')
  listing = image_io.scan_folder(input_dir)
  if not listing.images:
    raise UserError(f'no image files under {input_dir}')
  note = image_io.ignored_note(listing, input_dir)
  if note:
    print(f'note: {note}', file=sys.stderr)
  pairs = _match(listing.images, reference_dir)
  score = jax.jit(lambda a, b: metrics.psnr_ssim(a, b, conv))
  rows, skipped, mixed = [], [], []
  for rel, ref in pairs:
    a_path, b_path = os.path.join(input_dir, rel), os.path.join(reference_dir, ref)
    try:
      counts = (image_io.file_channels(a_path), image_io.file_channels(b_path))
      channels = max(counts)
      if counts[0] != counts[1]:
        mixed.append(rel)
      a = image_io.read_image(a_path, channels)
      b = image_io.read_image(b_path, channels)
    except image_io.ImageReadError as e:
      skipped.append(str(e))
      continue
    if a.shape != b.shape:
      raise UserError(f'{rel}: size {a.shape[1]}x{a.shape[0]} differs from its reference '
                      f'{b.shape[1]}x{b.shape[0]}')
    p, s = score(a[None].astype(np.float32) / 255.0, b[None].astype(np.float32) / 255.0)
    rows.append((rel, float(p[0]), float(s[0])))
    print(f'{rel}\tpsnr {rows[-1][1]:.4f}\tssim {rows[-1][2]:.6f}')
  if not rows:
    raise UserError(f'none of the {len(pairs)} pairs could be read: {image_io.first_few(skipped)}')
  if mixed:
    print(f'note: {len(mixed)} pair(s) of a grey and a colour image were scored in colour, the '
          f'grey one as three equal channels (a grey model\'s output? restore writes colour for '
          f'colour inputs): {image_io.first_few(mixed)}', file=sys.stderr)
  psnr = float(np.mean([r[1] for r in rows]))
  ssim = float(np.mean([r[2] for r in rows]))
  line = f'mean over {len(rows)} images\tpsnr {psnr:.4f}\tssim {ssim:.6f}'
  if skipped:
    line += f'\tskipped {len(skipped)} unreadable: {image_io.first_few(skipped)}'
  print(line)
  result = {'psnr': psnr, 'ssim': ssim, 'images': len(rows), 'skipped': len(skipped),
            'grey_with_colour': len(mixed)}
  identical = sum(1 for r in rows if not np.isfinite(r[1]))
  if identical:  # strict JSON has no Infinity: the mean is written as null, and said why
    print(f'note: {identical} image(s) equal their reference exactly (infinite PSNR); the mean '
          f'PSNR is infinite and written as null', file=sys.stderr)
  printed = {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
             for k, v in result.items()}
  print(json.dumps(printed, allow_nan=False))
  return result
