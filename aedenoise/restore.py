"""--mode=restore: a trained model applied to every image of a folder, any size, through tiles.

    python main.py --mode=restore --config=configs/X.py --workdir=W --input=IN --output=OUT \
        [--tile=T --tile_overlap=O] [--degradation=PRESET --degradation_args=k=v,... --seed=N]

Each image under IN (recursive) is read with the model's channels (`config.data.channels`), cut
into overlapping tiles of one shape (aedenoise/tiling.py), restored in batches of tiles from any
number of images, blended, and written as OUT/<relative name>.png at the input's size (times the
model's scale for super-resolution). `--degradation` first degrades each image on the fly, keyed
by the seed and its relative name exactly as --mode=degrade does, so one command shows the model on
fresh noise. Unreadable files are skipped, counted and listed.
"""
from __future__ import annotations

import os
import sys

import numpy as np
import tqdm

from aedenoise import degrade_files, inference, parallel, paths, validation
from input_pipeline import images as image_io


def _read(input_dir: str, names: list[str], channels: int, spec, seed: int, skipped: list):
  """(relative name, float image) for every readable file; others appended to `skipped`."""
  for rel in names:
    try:
      pixels = image_io.read_image(os.path.join(input_dir, rel), channels)
    except image_io.ImageReadError as e:
      skipped.append(str(e))
      continue
    if spec is None:
      yield rel, pixels.astype(np.float32) / 255.0
    else:
      yield rel, degrade_files.degrade_image(spec, seed, rel, pixels)


def restore_folder(config, workdir: str, input_dir: str, output_dir: str, *, tile: int = 0,
                   overlap: int = -1, spec=None, seed: int = 0) -> dict:
  """Writes OUT/<relative name>.png for every readable image under IN; returns
  {'written', 'skipped': [lines], 'tile', 'overlap'}."""
  targets = degrade_files.folder_outputs(input_dir, output_dir)
  names = list(targets)
  validation.validate(config)
  mesh = parallel.create_mesh()
  loaded = inference.load_model(config, workdir, mesh)
  restorer = inference.Restorer(loaded.model, loaded.variables, config, mesh, tile, overlap)
  skipped: list[str] = []
  written = 0
  items = _read(input_dir, names, int(config.data.channels), spec, seed, skipped)
  with tqdm.tqdm(total=len(names), unit='img', desc='restore', file=sys.stderr) as bar:
    for rel, out in restorer.restore_iter(items):
      image_io.write_image(paths.path(output_dir) / targets[rel], out)
      written += 1
      bar.update(written + len(skipped) - bar.n)  # skipped files count as done
  return {'written': written, 'skipped': skipped, 'tile': restorer.tile,
          'overlap': restorer.overlap}


def run(flags, config) -> None:
  spec = None
  if flags.degradation or flags.degradation_args:
    spec = degrade_files.make_spec(flags.degradation, flags.degradation_args, config)
  result = restore_folder(config, flags.workdir, flags.input, flags.output, tile=flags.tile,
                          overlap=flags.tile_overlap, spec=spec, seed=int(flags.seed))
  for line in result['skipped']:
    print(f'skipped: {line}', file=sys.stderr)
  th, tw = result['tile']
  print(f'restored {result["written"]} images into {flags.output} (tiles {th}x{tw}, overlap '
        f'{result["overlap"]}); skipped {len(result["skipped"])} unreadable')
