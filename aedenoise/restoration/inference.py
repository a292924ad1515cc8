"""A trained model at work: loaded from a workdir's newest checkpoint, and applied to images of any
size through overlapping tiles (`Restorer`). Evaluation on whole images, `--mode=restore`, the
benchmark and export all start here.

Loading reads the checkpoint's `model` item alone, so the optimizer the config names does not
matter. Each image is cut into tiles of one shape (aedenoise/restoration/tiling.py), the tiles
of any number of images are restored in batches on the mesh, and blended back.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Iterator

import jax
import numpy as np

from aedenoise import build
from aedenoise.errors import UserError
from aedenoise.models import contract
from aedenoise.restoration import tiling
from aedenoise.runtime import checkpoints, parallel, paths


@dataclasses.dataclass
class LoadedModel:
  task: build.Task
  step: int
  variables: dict  # what inference applies the model with (EMA parameters where kept)

  @property
  def model(self):
    return self.task.model


def load_model(task: build.Task, workdir: str, mesh) -> LoadedModel:
  """The newest good checkpoint in `workdir`, as the task's model, read without changing
  anything there (a training may be running); UserError if there is none or it holds another
  model."""
  config = task.config
  repl = parallel.replicated(mesh)
  abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=repl),
                          dict(task.abstract_variables))
  meta = checkpoints.describe(config.model, abstract,
                              hyperparameters=contract.hyperparameters(task.model))
  folder = paths.path(workdir) / 'checkpoints'
  if not folder.is_dir():  # checked here: a reader creates nothing in the workdir
    raise UserError(f'no checkpoint in {folder}; train first')
  checkpointer = checkpoints.Checkpointer(workdir, keep=config.keep_checkpoints, read_only=True)
  try:
    step, item = checkpointer.load_variables(meta, abstract)
  finally:
    checkpointer.close()
  if item is None:
    raise UserError(f'no checkpoint in {folder}; train first')
  return LoadedModel(task, step, checkpoints.inference_variables(item))


DEFAULT_MAX_MEMORY_MB = 512  # tiles at once; a large photo's peak memory: docs/PERFORMANCE.md


def tiles_within(task: build.Task, variables, tile: tuple[int, int], channels: int,
                 budget_mb: int) -> int:
  """How many tiles fit in `budget_mb` megabytes at once (at least 1): the memory XLA plans for
  one tile (input, output and working buffers, the variables apart), from the compiled program
  (nothing runs). Large when the backend does not say."""
  x = jax.ShapeDtypeStruct((1, *tile, channels), np.float32)
  shapes = jax.tree.map(lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype), variables)
  try:
    stats = task.jit(task.predict).lower(shapes, x).compile().memory_analysis()
    per_tile = (stats.temp_size_in_bytes + stats.output_size_in_bytes +
                stats.argument_size_in_bytes - sum(
                    v.size * v.dtype.itemsize for v in jax.tree.leaves(variables)))
  except (AttributeError, NotImplementedError, TypeError):  # no memory analysis on this backend
    return 1 << 30
  if per_tile > parallel.physical_memory():
    raise UserError(f'one {tile[0]}x{tile[1]} tile needs about {per_tile / 2**30:.1f} GiB, more '
                    f'than this machine has; use a smaller --tile')
  return max(1, int(budget_mb * 2**20 // max(per_tile, 1)))



class Restorer:
  """Restores float (H, W, C) images of any size with the task's model, batching tiles on the
  mesh. `tile` and `overlap` as --tile and --tile_overlap (checked against the model's geometry).
  A batch holds at most `batch_size` tiles (0: the config's eval batch size) and what
  `max_memory_mb` (0: DEFAULT_MAX_MEMORY_MB) per device allows."""

  def __init__(self, task: build.Task, variables, mesh, tile: int = 0, overlap: int = -1,
               batch_size: int = 0, max_memory_mb: int = 0):
    self.geometry = task.checked_geometry(tile, overlap)
    self.tile, self.overlap = self.geometry.tile(tile, overlap)
    n_dev = mesh.devices.size
    per_device = tiles_within(task, variables, self.tile, self.geometry.channels,
                              max_memory_mb or DEFAULT_MAX_MEMORY_MB)
    wanted = min(batch_size or int(task.config.eval.batch_size), per_device * n_dev)
    self.batch = max(n_dev, (wanted // n_dev) * n_dev)
    self.data = parallel.batch_sharding(mesh)
    self.variables = variables
    # One compile per tile shape: every batch is padded to `self.batch` tiles.
    self._apply = task.jit(task.predict, in_shardings=(parallel.replicated(mesh), self.data),
                           out_shardings=parallel.replicated(mesh))

  def _run(self, tiles: np.ndarray) -> np.ndarray:
    n = len(tiles)
    if n < self.batch:
      tiles = np.concatenate([tiles, np.repeat(tiles[-1:], self.batch - n, axis=0)])
    out = self._apply(self.variables, jax.device_put(tiles.astype(np.float32), self.data))
    return np.asarray(jax.device_get(out))[:n]

  def restore_iter(self, items: Iterable[tuple[object, np.ndarray]]
                   ) -> Iterator[tuple[object, np.ndarray]]:
    """(key, image) pairs in -> (key, restored) pairs out, in input order; tiles of consecutive
    images share batches."""
    queue: list = []      # (entry, tile index): tiles are cut when their batch runs
    entries: list = []    # [key, blender, tiles left], in input order

    def flush(count):
      batch, queue[:] = queue[:count], queue[count:]
      restored = self._run(np.stack([entry[1].plan.tile_at(i) for entry, i in batch]))
      for (entry, index), out in zip(batch, restored):
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
      queue += [(entry, i) for i in range(len(p.offsets))]
      while len(queue) >= self.batch:
        flush(self.batch)
        yield from finished()
    while queue:
      flush(self.batch)
    yield from finished()

  def restore(self, images: list[np.ndarray]) -> list[np.ndarray]:
    return [out for _, out in self.restore_iter(enumerate(images))]
