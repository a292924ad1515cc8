"""The output folder of `--mode=restore` and `--mode=degrade`: one PNG per input image, under the
input's relative name, planned and checked before any work starts.

`plan` lists the inputs and refuses, in one line each, whatever would fail or lose a file later:
outputs that would overwrite an input, directly or through a symbolic link anywhere on either side;
two inputs written to one name; an output name taken by a folder, or a path through a file; an
output folder that cannot be written or has no room for one image; an output folder that is, or
lies inside, a training workdir; a file of an output's name that is not a finished output of its
input (the user's, or another image's), unless `overwrite`. It reads every input's header
(unreadable ones are skipped and counted) and keeps the outputs a previous run finished (or redoes
them, `redo_finished`), so a run killed midway resumes where it stopped. `write` writes one image
whole or not at all (aedenoise/runtime/paths.py) and turns a failure into one line that names the
file.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from typing import Callable

from aedenoise.errors import UserError
from aedenoise.input_pipeline import images as image_io
from aedenoise.runtime import paths
from aedenoise.runtime import workdir as workdir_lib


@dataclasses.dataclass
class Item:
  name: str      # the input, relative to the input folder
  target: str    # its output, relative to the output folder
  header: image_io.Header


@dataclasses.dataclass
class Plan:
  input_dir: str
  output_dir: str
  pending: list[Item]    # to be written
  kept: list[str]        # outputs a previous run finished, left as they are
  skipped: list[str]     # 'path: reason' for inputs whose header does not read
  notes: list[str]       # lines for the summary: ignored files, animations, bit depths
  created: str | None    # the outermost folder `plan` made, removed again by `undo` if empty

  def undo(self) -> None:
    """Removes the output folders this plan made, if nothing was written into them."""
    workdir_lib.remove_if_empty(self.output_dir, self.created)


def output_names(names: list[str]) -> dict[str, str]:
  """{input name: output name} (the same relative path, as .png); UserError for inputs that
  would share one output."""
  out, clashes = {}, {}
  for rel in names:
    png = os.path.splitext(rel)[0] + '.png'
    clashes.setdefault(png, []).append(rel)
    out[rel] = png
  bad = [f'{", ".join(v)} would all be written to {k}' for k, v in clashes.items() if len(v) > 1]
  if bad:
    raise UserError('\n'.join(bad))
  return out


def _inside(path: str, folder: str) -> bool:
  return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_links(input_dir: str, output_dir: str, targets: dict[str, str]) -> None:
  """UserError if an input's real path (every link followed) lies in the real output folder, or
  an output's real path is an input or lies in a folder that holds one: links on either side
  would make an output overwrite, or mix with, the originals."""
  if not paths.is_local(output_dir):
    return
  real_out = os.path.realpath(output_dir)
  inputs = {rel: os.path.realpath(os.path.join(input_dir, rel)) for rel in targets}
  input_folders = {os.path.dirname(p) for p in inputs.values()} | {os.path.realpath(input_dir)}
  problems = [f'{os.path.join(input_dir, rel)} is {real}' for rel, real in inputs.items()
              if _inside(real, real_out)]
  if problems:
    raise UserError(f'{len(problems)} input(s) lie inside --output {output_dir} through symbolic '
                    f'links and would be overwritten by their own outputs: '
                    f'{image_io.first_few(problems)}')
  real_inputs = set(inputs.values())
  problems = []
  for target in targets.values():
    real = os.path.realpath(os.path.join(output_dir, target))
    if real in real_inputs or os.path.dirname(real) in input_folders:
      problems.append(f'{os.path.join(output_dir, target)} is {real}')
  if problems:
    raise UserError(f'{len(problems)} output(s) lead into the input folder through symbolic '
                    f'links and would overwrite or mix with the originals: '
                    f'{image_io.first_few(problems)}')


def _check_names(output_dir: str, targets: list[str]) -> None:
  """UserError for outputs whose name is taken by a folder, or whose path passes through a file."""
  problems = []
  for target in targets:
    full = paths.path(output_dir) / target
    if full.is_dir():
      problems.append(f'{full} is a folder')
      continue
    parent = full.parent
    while str(parent) != str(paths.path(output_dir)) and not parent.exists():
      parent = parent.parent
    if parent.exists() and not parent.is_dir():
      problems.append(f'{parent} is a file, so {full} cannot be written')
  if problems:
    raise UserError(f'{len(problems)} output name(s) are taken: {image_io.first_few(problems)}')


def _check_writable(output_dir: str, targets: list[str]) -> None:
  """UserError for a folder of the outputs that exists but cannot be written (the output folder
  itself is proven writable with a file by workdir.check_writable)."""
  if not paths.is_local(output_dir) or os.geteuid() == 0:  # root writes anywhere
    return
  folders = set()
  for target in targets:
    folder = os.path.dirname(os.path.join(output_dir, target))
    while not os.path.exists(folder):
      folder = os.path.dirname(folder)
    folders.add(folder)
  closed = sorted(f for f in folders if not os.access(f, os.W_OK | os.X_OK))
  if closed:
    raise UserError(f'--output: cannot write into {image_io.first_few(closed)}: permission denied')


def _check_space(output_dir: str, needed: int, largest: str) -> None:
  if not paths.is_local(output_dir) or not needed:
    return
  free = shutil.disk_usage(output_dir).free
  if free < needed:
    raise UserError(f'--output {output_dir} has {free / 2**20:.1f} MiB free, less than one output '
                    f'image needs ({largest}: up to {needed / 2**20:.1f} MiB uncompressed)')


def _raw_bytes(size: tuple, channels: int, header: image_io.Header) -> int:
  """An output's size without compression: a bound on what one image needs on disk."""
  return int(size[0]) * int(size[1]) * channels * (2 if header.deep_grey else 1)


COMPLETE, DAMAGED, FOREIGN = 'complete', 'damaged', 'foreign'


def output_state(path, size: tuple[int, int]) -> str:
  """What the existing file at `path` is to an output of (height, width) `size`: COMPLETE (a
  whole image of that size: a finished output), DAMAGED (its header says so, its data is cut
  short: an interrupted older writer's) or FOREIGN (anything else: not this output's to
  replace). At a URL, any file is complete: uploads are whole."""
  if not paths.is_local(path):
    return COMPLETE if paths.path(path).is_file() else FOREIGN
  if not os.path.isfile(path):
    return FOREIGN
  if image_io.stored_size(str(path)) != tuple(size):  # outputs are written without orientation
    return FOREIGN
  try:
    image_io.check_file(str(path))
  except image_io.ImageReadError:
    return DAMAGED
  return COMPLETE


def _single_file(input_file: str, output: str):
  """(input folder, output folder, listing, {input name: output name}) for one input image:
  written as `output` itself when that names a .png file, else into the folder `output` under
  the input's name; refused when the output would be the input itself."""
  folder, name = os.path.split(input_file)
  if not name.lower().endswith(image_io.IMAGE_EXTENSIONS):
    raise UserError(f'--input {input_file} is not named as an image file Pillow reads')
  as_file = output.lower().endswith('.png') and not paths.path(output).is_dir()
  if as_file:
    output_dir, target = os.path.split(output)
    output_dir = output_dir or '.'
  else:
    output_dir, target = output, os.path.splitext(name)[0] + '.png'
    if paths.path(output).exists() and not paths.path(output).is_dir():
      raise UserError(f'--output {output} is a file; name a folder, or a .png file to write')
  if paths.is_local(output_dir) and (os.path.realpath(os.path.join(output_dir, target)) ==
                                     os.path.realpath(input_file)):
    raise UserError(f'--output {output} would overwrite --input {input_file}')
  return folder or '.', output_dir, image_io.Listing([name], []), {name: target}


def plan(input_dir: str, output_dir: str, *, out_size: Callable[[image_io.Header], tuple],
         out_channels: int, overwrite: bool = False, redo_finished: bool = False,
         max_pixels: int = image_io.DEFAULT_MAX_PIXELS) -> Plan:
  """Everything about the outputs that can be known before the work: see the module docstring.
  `input_dir` may be one image file, written into the folder `output_dir` or, where that names a
  .png file, as that file; the plan's folders are then the file's. `out_size(header)` is the
  (height, width) an input's output will have."""
  paths.check_local_input(input_dir, '--input')
  if os.path.isfile(input_dir):
    input_dir, output_dir, listing, targets = _single_file(input_dir, output_dir)
  elif os.path.exists(input_dir) and not os.path.isdir(input_dir):
    raise UserError(f'--input {input_dir} is neither a regular file nor a folder (a FIFO, a '
                    f'socket or a device is never read)')
  elif not os.path.isdir(input_dir):
    raise UserError(f'--input {input_dir} does not exist (an image file or a folder of them)')
  else:
    workdir_lib.check_separate(input_dir, output_dir)
    listing = image_io.scan_folder(input_dir)
    if not listing.images:
      raise UserError(f'no images under {input_dir}')
    targets = output_names(listing.images)
    check_links(input_dir, output_dir, targets)
  workdir_lib.check_not_in_run(output_dir, '--output')
  _check_names(output_dir, list(targets.values()))
  items, skipped = [], []
  for rel in listing.images:
    try:
      items.append(Item(rel, targets[rel], image_io.read_header(os.path.join(input_dir, rel),
                                                                max_pixels)))
    except image_io.ImageReadError as e:
      skipped.append(str(e))
  notes = [n for n in [image_io.ignored_note(listing, input_dir)] if n]
  transparent = [i.name for i in items if i.header.alpha]
  if transparent:
    notes.append(f'{len(transparent)} input(s) with transparency, which the outputs do not keep '
                 f'(they are opaque; transparent areas come out as their stored colour, often '
                 f'black): {image_io.first_few(transparent)}')
  animated = [i.name for i in items if i.header.frames > 1]
  if animated:
    notes.append(f'{len(animated)} animated input(s), of which the first frame was used: '
                 f'{image_io.first_few(animated)}')
  pending, kept, foreign = [], [], []
  for item in items:  # `out_size` may trace a degradation: asked only where an output exists
    target = paths.path(output_dir) / item.target
    state = None if overwrite or not target.exists() else output_state(target,
                                                                        out_size(item.header))
    if state == COMPLETE and not redo_finished:
      kept.append(item.target)  # an earlier run's output: outputs are written whole or not at all
    elif state == FOREIGN:
      foreign.append(item.target)
    else:
      pending.append(item)
  if foreign:
    named = [os.path.join(output_dir, name) for name in foreign]
    raise UserError(f'--output: {len(foreign)} output(s) would replace files that are not '
                    f'finished outputs of these inputs (another image size, or not an image): '
                    f'{image_io.first_few(named)}; remove them or pass --overwrite')
  created = workdir_lib.first_missing(output_dir)
  result = Plan(input_dir, output_dir, pending, kept, skipped, notes, created)
  try:
    workdir_lib.check_writable(output_dir, '--output')
    _check_writable(output_dir, [i.target for i in pending])
    if pending:
      largest = max(pending, key=lambda i: (i.header.width * i.header.height *
                                            (2 if i.header.deep_grey else 1)))
      _check_space(output_dir, _raw_bytes(out_size(largest.header), out_channels,
                                          largest.header), largest.target)
    names = {}  # what a killed run may have left half-written, by folder
    for target in targets.values():
      folder, name = os.path.split(os.path.join(output_dir, target))
      names.setdefault(folder, []).append(name)
    for folder, found in names.items():
      paths.remove_stale_temporaries(folder, found)
  except BaseException:
    result.undo()
    raise
  return result


def write(output_dir: str, target: str, image, bits: int, finished: int) -> None:
  """`image` as OUT/`target`, whole or not at all; a failure is one UserError naming the file and
  saying that the `finished` outputs before it are kept."""
  path = paths.path(output_dir) / target
  try:
    image_io.write_image(path, image, bits)
  except OSError as e:
    raise UserError(f'cannot write {path}: {e.strerror or e}; the {finished} image(s) finished '
                    f'before it are kept, and running the same command again does the rest'
                    ) from None


class Bits:
  """Counts what happened to inputs of more than 8 bits, for the summary."""

  def __init__(self):
    self.kept: list[str] = []      # written at 16 bits
    self.narrowed: list[str] = []  # read or written at 8 bits

  def output_bits(self, name: str, header, bits: int, channels: int) -> int:
    """The bits `name` is written with: its own when the output can hold them, else 8."""
    if header.narrowed or (bits > 8 and not image_io.can_write_bits(channels, bits)):
      self.narrowed.append(name)
      return 8
    if bits > 8:
      self.kept.append(name)
    return bits

  def notes(self) -> list[str]:
    if not self.narrowed:
      return []
    return [f'{len(self.narrowed)} input(s) of more than 8 bits per sample were read or written at '
            f'8 bits (Pillow decodes 16-bit colour at 8 bits and writes 16 bits for grey only): '
            f'{image_io.first_few(self.narrowed)}']


def report(verb: str, output_dir: str, plan: Plan, written: int, skipped: list[str],
           bits: Bits, how: str = '', details: str = '') -> str:
  """Prints the notes (on stderr); returns the one summary line of a folder written by restore
  or degrade: '<verb> N images<how> into OUT<details>; ...'."""
  for note in plan.notes + bits.notes():
    print(f'note: {note}', file=sys.stderr)
  parts = [f'{verb} {written} images{how} into {output_dir}{details}']
  if bits.kept:
    parts.append(f'{len(bits.kept)} at 16 bits like their inputs')
  if plan.kept:
    parts.append(f'kept {len(plan.kept)} finished earlier (--overwrite redoes them)')
  parts.append(f'skipped {len(skipped)} unreadable' +
               (f': {image_io.first_few(skipped)}' if skipped else ''))
  return '; '.join(parts)
