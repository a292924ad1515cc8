"""--mode=restore: a trained model applied to every image of a folder, any size, through tiles.

    python main.py --mode=restore --workdir=W --input=IN --output=OUT [--config=configs/X.py] \
        [--tile=T --tile_overlap=O --max_memory=MB --channel_mode=per_channel|luma] \
        [--degradation=PRESET --degradation_args=k=v,... --seed=N] [--overwrite]

(without --config, the workdir's config.json)

Each image under IN (recursive; every format Pillow reads, the first frame of an animation) keeps
its channels: a grey model restores a colour photo channel by channel (`--channel_mode=luma`: its
luma only), a colour model a grey image through three equal channels. Images are cut into
overlapping tiles of one shape (aedenoise/restoration/tiling.py; the image is first mirrored
outwards at its borders, so its outermost pixels get context as its inner ones do), restored in
batches of tiles from any number of images (as many as `--max_memory` allows), blended, and written
as OUT/<relative name>.png at the input's size (times the model's scale for super-resolution), whole
or not at all; a 16-bit grey input is restored and written at 16 bits. `--degradation` first
degrades each image on the fly, keyed by the seed and its relative name exactly as --mode=degrade
does, so one command shows the model on fresh noise.

Everything that can refuse the run is checked before the checkpoint is read
(aedenoise/restoration/outputs.py: links between input and output, name clashes, a folder that
cannot be written or has no room; the tiles and the degradation against the model's geometry).
Outputs that a previous run finished are kept (`--overwrite` redoes them), so a run killed midway
finishes the rest when run again. Unreadable files are skipped, counted and named.
"""
from __future__ import annotations

import os

from aedenoise import build, validation
from aedenoise.errors import Interrupted, UserError
from aedenoise.input_pipeline import images as image_io
from aedenoise.restoration import channels as channels_lib
from aedenoise.restoration import degrade_files, inference, outputs
from aedenoise.runtime import parallel, progress
from aedenoise.runtime import workdir as workdir_lib


def check_degradation(task: build.Task, spec, name: str) -> None:
  """UserError when the degradation changes an image's size by other than the factor the model
  enlarges by: the restored images would not have the inputs' size."""
  _, h, w, _ = task.target_shape()
  dh, dw = degrade_files.degraded_size(spec, h, w, task.geometry.channels)
  s = task.scale
  if abs(dh * s - h) < s and abs(dw * s - w) < s:
    return
  model = f'model {task.label}'
  does = 'does not enlarge' if s == 1 else f'enlarges {s}x'
  fix = ('use one that keeps the size (or a super-resolution model)' if s == 1 else
         f'use one that shrinks {s}x')
  raise UserError(f'{name} turns {w}x{h} images into {dw}x{dh}, and {model} {does}: '
                  f'its outputs would be {dw * s}x{dh * s}, not the input\'s {w}x{h}; {fix}')


def _read(input_dir: str, items, spec, seed: int, skipped: list, bits: outputs.Bits,
          max_pixels: int):
  """((item, bits), float image with the file's own channels) for every readable input; others
  appended to `skipped`."""
  for item in items:
    path = os.path.join(input_dir, item.name)
    try:
      channels = image_io.file_channels(path)
      image, depth = image_io.read_float(path, channels, max_pixels)
    except image_io.ImageReadError as e:
      skipped.append(str(e))
      continue
    depth = bits.output_bits(item.name, item.header, depth, channels)
    if spec is not None:
      image = degrade_files.degrade_image(spec, seed, item.name, image)
    yield (item, depth), image


def restore_folder(config, workdir: str, input_dir: str, output_dir: str, *, tile: int = 0,
                   overlap: int = -1, spec=None, seed: int = 0, overwrite: bool = False,
                   degradation: str = 'the degradation', channel_mode: str = 'per_channel',
                   max_memory_mb: int = 0) -> dict:
  """Writes OUT/<relative name>.png for every readable image under IN not already restored there;
  returns {'written', 'kept', 'skipped': [lines], 'tile', 'overlap', 'line': the summary}. Each
  image keeps its channels: a grey model restores a colour photo as `channel_mode` says
  (aedenoise/restoration/channels.py), a colour model a grey one through three equal channels; the
  summary says how many were. `max_memory_mb` bounds the tiles restored at once (0: the default)."""
  task = validation.validate(config)
  workdir_lib.check_outside(output_dir, workdir, '--output', 'checkpoints')
  channels = task.channels
  geometry = task.checked_geometry(tile, overlap)
  if spec is not None:
    check_degradation(task, spec, degradation)

  def out_size(header):
    h, w = header.height, header.width
    if spec is not None:
      h, w = degrade_files.degraded_size(spec, h, w, channels)
    return h * geometry.scale, w * geometry.scale
  if channel_mode not in channels_lib.MODES:
    raise UserError(f'--channel_mode={channel_mode}: must be one of '
                    f'{", ".join(channels_lib.MODES)}')
  max_pixels = int(config.data.max_pixels)
  plan = outputs.plan(input_dir, output_dir, out_size=out_size, out_channels=3,
                      overwrite=overwrite, max_pixels=max_pixels)
  skipped, bits, written = list(plan.skipped), outputs.Bits(), 0
  (th, tw), used_overlap = geometry.tile(tile, overlap)
  if not tile and geometry.fixed is None:
    budget = max_memory_mb or inference.DEFAULT_MAX_MEMORY_MB
    details = (f' (whole, or in {th}x{tw} tiles where a whole image would need over {budget} MB; '
               f'mirrored by {used_overlap} pixels)')
  else:
    details = f' (tiles {th}x{tw}, overlap {used_overlap})'
  if not plan.pending and not plan.kept:  # every header failed to read
    plan.undo()
    raise UserError(f'none of the {len(skipped)} images under {input_dir} could be read: '
                    f'{image_io.first_few(skipped)}')
  if not plan.pending:  # every output is there already: nothing to load the model for
    line = outputs.report('restored', output_dir, plan, 0, skipped, bits, details=details)
    return {'written': 0, 'adapted': {}, 'kept': len(plan.kept), 'skipped': skipped,
            'tile': (th, tw), 'overlap': used_overlap, 'line': line}
  mesh = parallel.create_mesh()
  try:
    loaded = inference.load_model(task, workdir, mesh)
    restorer = inference.Restorer(task, loaded.variables, mesh, tile, overlap,
                                  max_memory_mb=max_memory_mb)
  except BaseException:
    plan.undo()
    raise
  adapted: dict[str, int] = {}  # what was done to images of other channels than the model's

  def counted(read):
    for key, image in read:
      how = channels_lib.describe(image.shape[-1], channels, channel_mode)
      if how:
        adapted[how] = adapted.get(how, 0) + 1
      yield key, image
  read = _read(plan.input_dir, plan.pending, spec, seed, skipped, bits, max_pixels)
  items = channels_lib.adapt_iter(restorer.restore_iter, counted(read), channels, channel_mode)
  try:
    with progress.Progress(len(plan.pending), 'restore') as bar:
      for (item, depth), out in items:
        with workdir_lib.signals_deferred():  # a stop counts the image it comes after
          outputs.write(plan.output_dir, item.target, out, depth, written)
          written += 1
        bar.update(written + len(skipped) - len(plan.skipped) - bar.n)  # skips count as done
  except Interrupted as e:
    raise Interrupted(f'{e}: {written} of {len(plan.pending)} images were restored into '
                      f'{output_dir} (each whole); the same command finishes the rest',
                      e.signum) from None
  if not written and not plan.kept and skipped:
    plan.undo()  # nothing was restored: the output folder this run made goes too
    raise UserError(f'none of the {len(skipped)} images under {input_dir} could be read: '
                    f'{image_io.first_few(skipped)}')
  details += ''.join(f'; {n} {how}' for how, n in adapted.items())
  line = outputs.report('restored', output_dir, plan, written, skipped, bits, details=details)
  return {'written': written, 'adapted': adapted, 'kept': len(plan.kept), 'skipped': skipped,
          'tile': (th, tw), 'overlap': used_overlap, 'line': line}


def run(flags, config) -> None:
  if int(flags.max_memory) < 0:
    raise UserError(f'--max_memory must be 0 (the default, {inference.DEFAULT_MAX_MEMORY_MB} MB) '
                    f'or more, got {flags.max_memory}')
  spec = None
  if flags.degradation or flags.degradation_args:
    spec = degrade_files.make_spec(flags.degradation, flags.degradation_args, config)
  result = restore_folder(config, flags.workdir, flags.input, flags.output, tile=flags.tile,
                          overlap=flags.tile_overlap, spec=spec, seed=int(flags.seed),
                          overwrite=bool(getattr(flags, 'overwrite', False)),
                          degradation=(f'--degradation={flags.degradation}' if flags.degradation
                                       else "the config's degradation"),
                          channel_mode=flags.channel_mode, max_memory_mb=int(flags.max_memory))
  print(result['line'])
