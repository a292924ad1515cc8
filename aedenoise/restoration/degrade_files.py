"""--mode=degrade: degraded copies of every image in a folder, as PNG under the same relative names.

This is the dual-autoencoder study's data preparation step (noisy copies of a clean folder). Each image's key is
fold_in(key(seed), crc32(relative path)), so its output depends only on the seed, its own name and
its pixels: not on which other files are present or in what order they are read.

`--degradation_args` syntax, parsed here and never inside the library: comma-separated `name=value`
items. A value is `true`/`false`, `none`, an integer, a float, `lo:hi` (a range sampled per image), or
else a string (method=bicubic). Values replace the preset's (or the config's) entries. For a composed preset, a dotted name reaches into it:
`options.gaussian.sigma=0.1:0.2`.
"""
from __future__ import annotations

import functools
import json
import os
import re

import jax
import jax.numpy as jnp
import numpy as np

from aedenoise import degradations
from aedenoise.errors import Interrupted, UserError
from aedenoise.input_pipeline import images as image_io
from aedenoise.restoration import outputs
from aedenoise.runtime import workdir as workdir_lib

_NUMBER = re.compile(r'^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$')
_INT = re.compile(r'^[+-]?\d+$')


def _number(text: str):
  return int(text) if _INT.match(text) else float(text)


def parse_value(text: str):
  """'true' -> True, '3' -> 3, '0.1:0.2' -> (0.1, 0.2), anything else -> the string itself
  (method=bicubic; a malformed number stays a string and the degradation's check names it)."""
  text = text.strip()
  low = text.lower()
  if low in ('true', 'false'):
    return low == 'true'
  if low == 'none':
    return None
  if _NUMBER.match(low):
    return _number(low)
  lo, colon, hi = low.partition(':')
  if colon and _NUMBER.match(lo.strip()) and _NUMBER.match(hi.strip()):
    return float(lo), float(hi)
  return text


def parse_args(text: str | None) -> tuple[dict[str, object], list[str]]:
  """'a=1,b=0.1:0.2' -> ({'a': 1, 'b': (0.1, 0.2)}, problems): one line per malformed item."""
  out, problems = {}, []
  for item in (text or '').split(','):
    if not item.strip():
      continue
    name, eq, value = item.partition('=')
    name = name.strip()
    if not eq or not name or not value.strip():
      problems.append(f'--degradation_args: {item.strip()!r} is not name=value')
    elif name in out:
      problems.append(f'--degradation_args: {name} given twice')
    else:
      out[name] = parse_value(value)
  return out, problems


def _override(spec: dict, path: str, value, preset: str) -> str | None:
  """Sets spec[a][b][c] = value for path 'a.b.c'; a problem line if the path leads nowhere."""
  *parents, leaf = path.split('.')
  node = spec
  for i, part in enumerate(parents):
    if not isinstance(node.get(part), dict):
      return f'--degradation_args: {path}: {preset} has no entry {".".join(parents[:i + 1])!r}'
    node = node[part]
  if leaf in ('kind', 'options', 'steps'):
    return f'--degradation_args: {path}: the structure of a preset cannot be replaced'
  node[leaf] = value
  return None


def make_spec(name: str | None, args_text: str | None, config=None) -> dict:
  """The spec for --degradation (a preset or a kind; default: the config's) and its arguments.

  Raises one UserError listing every problem, one line each, before any file is touched.
  """
  args, problems = parse_args(args_text)
  if not name:
    if config is None:
      raise UserError('--mode=degrade needs --degradation (a preset or a kind) or --config')
    spec = degradations.resolve(config.degradation)
    spec = spec.to_dict() if hasattr(spec, 'to_dict') else dict(spec)
    name = 'the config degradation'
  elif name in degradations.PRESETS:
    spec = degradations.resolve(name)
  elif name in degradations.REGISTRY:
    spec = {'kind': name}
  else:
    raise UserError(f'--degradation: unknown {name!r}; presets: {", ".join(degradations.PRESETS)}; '
                    f'kinds: {", ".join(degradations.REGISTRY)}')
  problems += [p for p in (_override(spec, k, v, name) for k, v in args.items()) if p]
  try:
    degradations.build_single(spec)
  except degradations.DegradationError as e:
    problems += str(e).splitlines()
  if problems:
    raise UserError('\n'.join(problems))
  return spec


def image_key(seed: int, relative_path: str):
  return degradations.named_key(seed, relative_path.replace(os.sep, '/'))


@functools.lru_cache(maxsize=8)
def _jitted(spec_json: str):
  """One compiled function per spec (and image shape), however many folders it degrades."""
  return jax.jit(degradations.build_single(json.loads(spec_json)))


def _spec_json(spec) -> str:
  return json.dumps(spec.to_dict() if hasattr(spec, 'to_dict') else spec, sort_keys=True)


def degrade_image(spec, seed: int, relative_path: str, image: np.ndarray) -> np.ndarray:
  """A float (H, W, C) image in [0, 1] -> the degraded float image, keyed by the seed and the
  relative name."""
  fn = _jitted(_spec_json(spec))
  return np.asarray(fn(image_key(seed, relative_path), jnp.asarray(image, jnp.float32)))


@functools.lru_cache(maxsize=256)
def _degraded_size(spec_json: str, height: int, width: int, channels: int) -> tuple[int, int]:
  fn = degradations.build_single(json.loads(spec_json))
  shape = jax.ShapeDtypeStruct((height, width, channels), jnp.float32)
  return tuple(jax.eval_shape(fn, jax.random.key(0), shape).shape[:2])


def degraded_size(spec, height: int, width: int, channels: int = 3) -> tuple[int, int]:
  """The (height, width) the degradation gives an image of that size (traced, not computed)."""
  return _degraded_size(_spec_json(spec), int(height), int(width), int(channels))


def degrade_folder(input_dir: str, output_dir: str, spec, seed: int,
                   channels: int | None = None, label: str = '') -> dict:
  """Writes OUT/<relative name>.png for every readable image under IN (replacing the finished
  outputs of an earlier run; refusing files of those names that are not);
  returns {'written', 'skipped': ['path: reason'], 'line': the summary, naming `label`}."""
  out_channels = channels or 3
  plan = outputs.plan(
      input_dir, output_dir, out_channels=out_channels, redo_finished=True,
      out_size=lambda h: degraded_size(spec, h.height, h.width, out_channels))
  skipped, bits, written = list(plan.skipped), outputs.Bits(), 0
  try:
    for item in plan.pending:
      path = os.path.join(plan.input_dir, item.name)
      try:
        image, depth = image_io.read_float(path, channels or image_io.file_channels(path))
      except image_io.ImageReadError as e:
        skipped.append(str(e))
        continue
      out = degrade_image(spec, seed, item.name, image)
      depth = bits.output_bits(item.name, item.header, depth, out.shape[-1])
      with workdir_lib.signals_deferred():  # a stop counts the image it comes after
        outputs.write(plan.output_dir, item.target, out, depth, written)
        written += 1
  except Interrupted as e:
    raise Interrupted(f'{e}: {written} of {len(plan.pending)} images were degraded into '
                      f'{output_dir} (each whole)', e.signum) from None
  if not written and skipped:
    plan.undo()
    raise UserError(f'none of the {len(skipped)} images under {input_dir} could be read: '
                    f'{image_io.first_few(skipped)}')
  how = f' with {label} (seed {seed})' if label else ''
  line = outputs.report('degraded', output_dir, plan, written, skipped, bits, how=how)
  return {'written': written, 'skipped': skipped, 'line': line}


def run(flags, config=None) -> None:
  spec = make_spec(flags.degradation, flags.degradation_args, config)
  channels = int(config.data.channels) if config is not None else None
  result = degrade_folder(flags.input, flags.output, spec, int(flags.seed), channels,
                          label=flags.degradation or 'the config degradation')
  print(result['line'])
