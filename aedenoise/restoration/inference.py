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
from aedenoise.models.geometry import round_up
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
# Whole images are cut as one tile of their size rounded up to this many pixels a side (and to
# the model's multiple), so that images of nearly the same size share one compiled program.
SIZE_BUCKET = 32


def tile_bytes(task: build.Task, variables, tile: tuple[int, int], channels: int) -> int | None:
  """The memory XLA plans for one tile (input, output and working buffers, the variables apart),
  from the compiled program (nothing runs); None when the backend does not say."""
  x = jax.ShapeDtypeStruct((1, *tile, channels), np.float32)
  shapes = jax.tree.map(lambda v: jax.ShapeDtypeStruct(v.shape, v.dtype), variables)
  try:
    stats = task.jit(task.predict, inference=True).lower(shapes, x).compile().memory_analysis()
    return (stats.temp_size_in_bytes + stats.output_size_in_bytes +
            stats.argument_size_in_bytes - sum(
                v.size * v.dtype.itemsize for v in jax.tree.leaves(variables)))
  except (AttributeError, NotImplementedError, TypeError):  # no memory analysis on this backend
    return None


def tiles_within(task: build.Task, variables, tile: tuple[int, int], channels: int,
                 budget_mb: int) -> int:
  """How many tiles fit in `budget_mb` megabytes at once (at least 1; large when the backend
  does not say); UserError when one tile alone needs more than the machine's memory."""
  return _count(tile_bytes(task, variables, tile, channels), tile, budget_mb * 2**20)


def _count(per_tile: int | None, tile: tuple[int, int], budget: int) -> int:
  if per_tile is None:
    return 1 << 30
  if per_tile > parallel.physical_memory():
    raise UserError(f'one {tile[0]}x{tile[1]} tile needs about {per_tile / 2**30:.1f} GiB, more '
                    f'than this machine has; use a smaller --tile')
  return max(1, int(budget // max(per_tile, 1)))


class Restorer:
  """Restores float (H, W, C) images of any size with the task's model, batching tiles on the
  mesh. With `tile` 0 (the default) a fully convolutional model takes each image whole (one
  tile of its size, mirrored at its borders as tiles are) where that fits in `max_memory_mb`
  (0: DEFAULT_MAX_MEMORY_MB) per device, and tiles of the geometry's default size otherwise; a
  `tile` given is the largest tile, shrunk to an image smaller than it. `overlap` as
  --tile_overlap (both checked against the model's geometry). A batch holds at most `batch_size`
  tiles (0: the config's eval batch size) and what the memory budget allows."""

  def __init__(self, task: build.Task, variables, mesh, tile: int = 0, overlap: int = -1,
               batch_size: int = 0, max_memory_mb: int = 0):
    self.geometry = task.checked_geometry(tile, overlap)
    self.tile, self.overlap = self.geometry.tile(tile, overlap)
    self.whole_images = not tile and self.geometry.fixed is None
    self.n_dev = n_dev = mesh.devices.size
    self.budget = (max_memory_mb or DEFAULT_MAX_MEMORY_MB) * 2**20
    self.tile_bytes = tile_bytes(task, variables, self.tile, self.geometry.channels)
    per_device = _count(self.tile_bytes, self.tile, self.budget)
    wanted = min(batch_size or int(task.config.eval.batch_size), per_device * n_dev)
    self.batch = max(n_dev, (wanted // n_dev) * n_dev)
    self.data = parallel.batch_sharding(mesh)
    self.variables = variables
    # One compile per tile shape and batch size: a batch is padded to `padded_batch` tiles.
    self._apply = task.jit(task.predict, inference=True,
                           in_shardings=(parallel.replicated(mesh), self.data),
                           out_shardings=parallel.replicated(mesh))

  def tile_for(self, height: int, width: int) -> tuple[tuple[int, int], int]:
    """(tile shape, tiles per batch) for an image of `height` x `width`."""
    if self.geometry.fixed is not None:
      return self.tile, self.batch
    m = tiling.margin(self.overlap, self.geometry.multiple)
    bucket = round_up(SIZE_BUCKET, self.geometry.multiple)
    whole = (round_up(height + 2 * m, bucket), round_up(width + 2 * m, bucket))
    if self.whole_images and (self.tile_bytes is None or self.tile_bytes * whole[0] * whole[1] <=
                              self.budget * self.tile[0] * self.tile[1]):
      return whole, self.n_dev  # memory grows with the pixels: scaled from the default tile's
    return (min(self.tile[0], whole[0]), min(self.tile[1], whole[1])), self.batch

  def padded_batch(self, tiles: int, batch_size: int) -> int:
    """The batch `tiles` tiles run in: `batch_size`, or for fewer tiles (the last of a stream) the
    smallest power of two devices' worth that holds them, so that few are computed for nothing
    and few programs compiled."""
    per_device = -(-tiles // self.n_dev)
    return min(batch_size, self.n_dev * (1 << (per_device - 1).bit_length()))

  def _run(self, tiles: np.ndarray, batch: int) -> np.ndarray:
    n = len(tiles)
    if n < batch:
      tiles = np.concatenate([tiles, np.repeat(tiles[-1:], batch - n, axis=0)])
    out = self._apply(self.variables, jax.device_put(tiles.astype(np.float32), self.data))
    return np.asarray(jax.device_get(out))[:n]

  def restore_iter(self, items: Iterable[tuple[object, np.ndarray]]
                   ) -> Iterator[tuple[object, np.ndarray]]:
    """(key, image) pairs in -> (key, restored) pairs out, in input order; tiles of consecutive
    images share batches."""
    queue: list = []      # (entry, tile index): tiles are cut when their batch runs
    entries: list = []    # [key, blender, tiles left], in input order
    shape, batch_size = None, self.batch  # of the queued tiles: all of one shape

    def flush(count):
      batch, queue[:] = queue[:count], queue[count:]
      restored = self._run(np.stack([entry[1].plan.tile_at(i) for entry, i in batch]),
                           self.padded_batch(len(batch), batch_size))
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
      tile, size = self.tile_for(*image.shape[:2])
      if (tile, size) != (shape, batch_size):
        while queue:  # the queued tiles of another shape run first
          flush(batch_size)
        yield from finished()
        shape, batch_size = tile, size
      p = tiling.plan(image, tile, self.overlap, self.geometry.multiple or 1)
      entry = [key, tiling.Blender(p, self.overlap, self.geometry.scale, image.shape[-1]),
               len(p.offsets)]
      entries.append(entry)
      queue += [(entry, i) for i in range(len(p.offsets))]
      while len(queue) >= batch_size:
        flush(batch_size)
        yield from finished()
    while queue:
      flush(batch_size)
    yield from finished()

  def restore(self, images: list[np.ndarray]) -> list[np.ndarray]:
    return [out for _, out in self.restore_iter(enumerate(images))]
