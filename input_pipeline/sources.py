"""The source registry: a data spec `KIND:ARG` names a kind in `SOURCES`, which opens it and says
what it is. Nothing outside this module reads a spec's prefix.

| spec | what |
|---|---|
| `builtin:dead_leaves`, `builtin:skimage` | procedural images; crops of scikit-image's photos |
| `folder:PATH` | images under PATH, recursive |
| `pairs:NOISY_DIR,CLEAN_DIR` | degraded/clean pairs (real noise, or smaller low-resolution inputs) |
| `tfds:NAME[:SPLIT]` | a TensorFlow Datasets dataset |

A source has `len()`, `name`, and `source[i] -> example`, a dict of uint8 (H, W, C) images at the
configured channels: `'target'` (the clean image), `'input'` when the degraded image comes from
disk (a paired kind), and `'label'` when the dataset has one. `skipped` maps files found unusable
when the source was opened to the reason. A new kind is a module with an `open` function and one
line here.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from aedenoise.input_pipeline import builtin, folders, pairs, tfds_source
from aedenoise.input_pipeline.errors import SourceError


@dataclasses.dataclass(frozen=True)
class SourceKind:
  open: Callable  # (arg, data_cfg, split) -> source
  usage: str      # how a spec of this kind is written
  paired: bool    # examples carry their own degraded 'input'
  generated: bool  # made on the fly: nothing to cache in host memory
  splittable: bool  # 'train'/'val'/'test' cut it deterministically
  local_folder: bool = False  # ARG is one local folder of image files
  name: Callable[[str], str] = lambda arg: arg  # ARG -> the dataset's short name


SOURCES: dict[str, SourceKind] = {
    'builtin': SourceKind(builtin.open_builtin, 'builtin:NAME', paired=False, generated=True,
                          splittable=False),
    'folder': SourceKind(folders.open_folder, 'folder:PATH', paired=False, generated=False,
                         splittable=True, local_folder=True,
                         name=lambda arg: arg.rstrip('/').split('/')[-1]),
    'pairs': SourceKind(pairs.open_pairs, 'pairs:NOISY_DIR,CLEAN_DIR', paired=True,
                        generated=False, splittable=True, name=pairs.dataset_name),
    'tfds': SourceKind(tfds_source.open_tfds, 'tfds:NAME[:SPLIT]', paired=False, generated=False,
                       splittable=True),
}


def parse(spec: str) -> tuple[str, SourceKind, str]:
  """(kind name, kind, ARG) of `spec`; SourceError for an unknown kind."""
  name, _, arg = str(spec).partition(':')
  if name not in SOURCES:
    raise SourceError(f'unknown source {spec!r}; expected '
                      f'{", ".join(k.usage for k in SOURCES.values())}')
  return name, SOURCES[name], arg


def kind_of(spec: str) -> SourceKind:
  return parse(spec)[1]


def open_source(spec: str, data_cfg, split: str):
  """Builds the source named by `spec`; `split` ('all', 'train', 'val', 'test') cuts the kinds that
  split, deterministically from `data_cfg.split_seed`."""
  _, kind, arg = parse(spec)
  return kind.open(arg, data_cfg, split)


def dataset_name(spec: str) -> str:
  """A short name for file names: 'folder_set12', 'pairs_sidd', 'tfds_mnist_test'."""
  name, kind, arg = parse(spec)
  return ''.join(c if c.isalnum() or c in '-_' else '_' for c in f'{name}_{kind.name(arg)}')


def local_folder(spec: str) -> str | None:
  """The folder of a spec whose ARG is one local folder of images (`folder:DIR`), else None."""
  _, kind, arg = parse(spec)
  return arg if kind.local_folder else None
