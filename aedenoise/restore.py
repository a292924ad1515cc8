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
from typing import Iterable, Iterator

import jax
import numpy as np

from aedenoise import losses, parallel, paths, state, tiling


class Restorer:
  """Restores float (H, W, C) images of any size with one model, batching tiles on the mesh."""

  def __init__(self, model, variables, config, mesh, tile: int = 0, overlap: int = -1,
               batch_size: int = 0):
    activation = losses.ACTIVATIONS[model.output_activation]

    def apply(v, x):
      return activation(model.apply(v, x, train=False))

    self.geometry = tiling.probe_geometry(lambda x: apply(variables, x), state.input_shape(config))
    self.tile, self.overlap = self.geometry.tile(tile, overlap)
    n_dev = mesh.devices.size
    wanted = batch_size or int(config.eval.batch_size)
    self.batch = max(n_dev, (wanted // n_dev) * n_dev)
    self.data = parallel.batch_sharding(mesh)
    self.variables = variables
    # One compile per tile shape: every batch is padded to `self.batch` tiles.
    self._apply = jax.jit(apply, in_shardings=(parallel.replicated(mesh), self.data),
                          out_shardings=parallel.replicated(mesh))

  def _run(self, tiles: np.ndarray) -> np.ndarray:
    n = len(tiles)
    if n < self.batch:
      tiles = np.concatenate([tiles, np.repeat(tiles[-1:], self.batch - n, axis=0)])
    out = self._apply(self.variables, jax.device_put(tiles.astype(np.float32), self.data))
    return np.asarray(jax.device_get(out))[:n]

  def restore_iter(self, items: Iterable[tuple[object, np.ndarray]]) -> Iterator[tuple[object, np.ndarray]]:
    """(key, image) pairs in -> (key, restored) pairs out, in input order; tiles of consecutive
    images share batches."""
    queue: list = []      # (entry, tile index, tile)
    entries: list = []    # [key, blender, tiles left], in input order

    def flush(count):
      batch, queue[:] = queue[:count], queue[count:]
      restored = self._run(np.stack([t for _, _, t in batch]))
      for (entry, index, _), out in zip(batch, restored):
        entry[1].add(index, out)
        entry[2] -= 1

    def finished():
      while entries and entries[0][2] == 0:
        key, blender, _ = entries.pop(0)
        yield key, blender.result()

    for key, image in items:
      if image.shape[-1] != self.geometry.channels:
        raise ValueError(f'{key}: {image.shape[-1]} channels, the model takes '
                         f'{self.geometry.channels}')
      p = tiling.plan(image, self.tile, self.overlap, self.geometry.multiple or 1)
      entry = [key, tiling.Blender(p, self.overlap, self.geometry.scale, image.shape[-1]),
               len(p.offsets)]
      entries.append(entry)
      queue += [(entry, i, t) for i, t in enumerate(p.tiles())]
      while len(queue) >= self.batch:
        flush(self.batch)
        yield from finished()
    while queue:
      flush(self.batch)
    yield from finished()

  def restore(self, images: list[np.ndarray]) -> list[np.ndarray]:
    return [out for _, out in self.restore_iter(enumerate(images))]


def _read(input_dir: str, names: list[str], channels: int, spec, seed: int, skipped: list):
  """(relative name, float image) for every readable file; others appended to `skipped`."""
  from aedenoise import degrade_files  # pylint: disable=g-import-not-at-top
  from input_pipeline import images as image_io  # pylint: disable=g-import-not-at-top
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
  import tqdm  # pylint: disable=g-import-not-at-top
  from aedenoise import degrade_files, train  # pylint: disable=g-import-not-at-top
  from input_pipeline import images as image_io  # pylint: disable=g-import-not-at-top
  targets = degrade_files.folder_outputs(input_dir, output_dir)
  names = list(targets)
  state.validate(config)
  mesh = parallel.create_mesh()
  model, _, variables = train.restore_model(config, workdir, mesh)
  restorer = Restorer(model, variables, config, mesh, tile, overlap)
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
  from aedenoise import degrade_files  # pylint: disable=g-import-not-at-top
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
