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
import sys

import jax
import jax.numpy as jnp
import numpy as np

from aedenoise import degradations, paths
from aedenoise import workdir as workdir_lib
from aedenoise.errors import UserError
from input_pipeline import images as image_io

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


def output_names(names: list[str]) -> dict[str, str]:
  out, clashes = {}, {}
  for rel in names:
    png = os.path.splitext(rel)[0] + '.png'
    clashes.setdefault(png, []).append(rel)
    out[rel] = png
  bad = [f'{", ".join(v)} would all be written to {k}' for k, v in clashes.items() if len(v) > 1]
  if bad:
    raise UserError('\n'.join(bad))
  return out


@functools.lru_cache(maxsize=8)
def _jitted(spec_json: str):
  """One compiled function per spec (and image shape), however many folders it degrades."""
  return jax.jit(degradations.build_single(json.loads(spec_json)))


def degrade_image(spec, seed: int, relative_path: str, pixels: np.ndarray) -> np.ndarray:
  """uint8 (H, W, C) -> the degraded float image, keyed by the seed and the relative name."""
  fn = _jitted(json.dumps(spec.to_dict() if hasattr(spec, 'to_dict') else spec, sort_keys=True))
  return np.asarray(fn(image_key(seed, relative_path), jnp.asarray(pixels, jnp.float32) / 255.0))


def folder_outputs(input_dir: str, output_dir: str) -> dict[str, str]:
  """{relative input name: relative PNG name} for every image under IN, after checking that IN is
  a folder holding images and that OUT neither is, lies inside, nor contains IN."""
  paths.check_local_input(input_dir, '--input')
  if not os.path.isdir(input_dir):
    raise UserError(f'--input {input_dir} is not a folder')
  workdir_lib.check_separate(input_dir, output_dir)
  names = image_io.list_images(input_dir)
  if not names:
    raise UserError(f'no images under {input_dir}')
  return output_names(names)


def degrade_folder(input_dir: str, output_dir: str, spec, seed: int,
                   channels: int | None = None) -> int:
  """Writes OUT/<relative name>.png for every image under IN; returns how many were written."""
  targets = folder_outputs(input_dir, output_dir)
  names = list(targets)
  unreadable = []
  for rel in names:
    path = os.path.join(input_dir, rel)
    try:
      pixels = image_io.read_image(path, channels or image_io.file_channels(path))
    except image_io.ImageReadError as e:
      print(f'skipped: {e}', file=sys.stderr)
      unreadable.append(rel)
      continue
    out = degrade_image(spec, seed, rel, pixels)
    target = paths.path(output_dir) / targets[rel]
    try:
      image_io.write_image(target, out)
    except OSError as e:
      raise UserError(f'cannot write {target}: {e.strerror or e}') from None
  if unreadable:
    raise UserError(f'{len(unreadable)} of {len(names)} files could not be read (listed above)')
  return len(names)


def run(flags, config=None) -> None:
  spec = make_spec(flags.degradation, flags.degradation_args, config)
  channels = int(config.data.channels) if config is not None else None
  n = degrade_folder(flags.input, flags.output, spec, int(flags.seed), channels)
  label = flags.degradation or 'the config degradation'
  print(f'degraded {n} images with {label} (seed {flags.seed}) into {flags.output}')
