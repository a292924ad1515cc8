"""--mode=export: a trained model as one file that needs nothing but JAX to run.

    python main.py --mode=export --workdir=W --output=F [--config=configs/X.py]

F is a `jax.export` serialisation of the model's inference function: float32 NHWC images in
[0, 1] -> restored images in [0, 1] (the output activation applied, then clipped, as restored
images are written). The newest checkpoint's inference weights (the EMA where kept) are baked in
as constants, so F is all a loader needs. It is lowered for CPU and CUDA with XLA's own
convolutions ('lax', right on every platform; the CPU's matmul kernels are a training choice).

The batch is symbolic, and so are height and width for a fully convolutional model: multiples of
its total stride, from the smallest input it takes on (aedenoise/restoration/tiling.py), stated as
constraints that JAX checks when F is called. A model whose code needs concrete sizes (a resampling
matrix built in numpy) is exported at its configured size instead, and F.json says why. F.json
also holds the model and its arguments, the parameter count, the input contract, the platforms,
the config's hash and the checkpoint step.

Loading: `jax.export.deserialize(open(F, 'rb').read()).call(x)` (examples/load_exported.py).
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from aedenoise import build, policy, validation
from aedenoise.errors import UserError, first_line
from aedenoise.models import contract, layers
from aedenoise.models import geometry as model_geometry
from aedenoise.restoration import inference, tiling
from aedenoise.runtime import parallel, paths
from aedenoise.runtime import workdir as workdir_lib

PLATFORMS = ('cpu', 'cuda')
CONV_IMPL = 'lax'
FORMAT = 'jax.export'


def inference_function(model, variables: dict) -> Callable:
  """`restore(x)`: float32 NHWC in [0, 1] -> restored images in [0, 1], with `variables` as
  constants (host copies: arrays placed on a mesh would tie the export to its devices)."""
  host = jax.device_get(variables)

  def restore(x):
    return jnp.clip(contract.predict(model, host, x), 0.0, 1.0)
  return layers.traced_with(CONV_IMPL, restore)


def with_borders(fn: Callable, margin: int, scale: int) -> Callable:
  """`fn` on each image mirrored outwards by `margin` pixels on every side (tiling.reflected,
  the rule --mode=restore follows), its output cropped back: the outermost pixels get context
  as restore gives them, not the model's own zero padding."""
  if not margin:
    return fn

  def restore(x):
    h, w = x.shape[1], x.shape[2]
    rows = tiling.reflected(h, margin, margin, jnp)
    cols = tiling.reflected(w, margin, margin, jnp)
    out = fn(x[:, rows][:, :, cols])
    m = margin * scale
    return out[:, m:m + h * scale, m:m + w * scale]
  return restore


def _export(fn: Callable, shape, platforms) -> jax.export.Exported:
  return jax.export.export(policy.jit(fn, CONV_IMPL), platforms=platforms)(
      jax.ShapeDtypeStruct(shape, jnp.float32))


def _symbolic(fn: Callable, geometry: model_geometry.Geometry, input_shape, out_channels: int,
              platforms):
  """(export, size contract) with symbolic height and width; raises if the model cannot be traced
  so, or if JAX cannot prove the output `scale` times the input."""
  m, c, s = geometry.multiple, geometry.channels, geometry.scale
  # Mirroring needs two pixels a side; the model itself, a smallest input.
  side = max(model_geometry.smallest_side(lambda _, x: fn(x), None, geometry, input_shape), 2)
  side = -(-side // m) * m
  k = side // m
  dims = 'h, w' if m == 1 else f'{m}*h, {m}*w'
  shape = jax.export.symbolic_shape(f'b, {dims}, {c}',
                                    constraints=[f'h >= {k}', f'w >= {k}'] if k > 1 else ())
  exported = _export(fn, shape, platforms)
  b, h, w, _ = shape
  got = exported.out_avals[0].shape
  if got != (b, s * h, s * w, out_channels):
    raise ValueError(f'the output shape {got} is not the input\'s times {s}')
  return exported, {'multiple': m, 'min_size': [side, side]}


def export_function(model, variables: dict, input_shape: tuple[int, ...],
                    platforms=PLATFORMS) -> tuple[jax.export.Exported, dict]:
  """The model's inference function exported for `platforms`, and its input/output contract."""
  fn = inference_function(model, variables)
  geometry = model_geometry.probe(lambda _, x: fn(x), None, input_shape)
  out_channels = jax.eval_shape(fn, jax.ShapeDtypeStruct(input_shape, jnp.float32)).shape[-1]
  size, why = None, None
  if geometry.fixed is None:
    border = tiling.margin(geometry.tile()[1], geometry.multiple)
    try:
      exported, size = _symbolic(with_borders(fn, border, geometry.scale), geometry, input_shape,
                                 out_channels, platforms)
      size['border'] = {'mirrored': border}
    except Exception as e:  # pylint: disable=broad-except
      why = f'symbolic height and width failed: {first_line(e)}'  # the fixed size still works
  if size is None:
    _, h, w, c = input_shape
    exported = _export(fn, jax.export.symbolic_shape(f'b, {h}, {w}, {c}'), platforms)
    size = {'fixed_size': [h, w], **({'why_fixed': why} if why else {})}
  io = {'dtype': 'float32', 'layout': 'NHWC', 'range': [0.0, 1.0]}
  return exported, {
      'input': {**io, 'channels': geometry.channels, 'batch': 'any', **size,
                'shape': str(exported.in_avals[0].shape)},
      'output': {**io, 'channels': out_channels, 'scale': geometry.scale,
                 'activation': model.output_activation, 'clipped': True,
                 'shape': str(exported.out_avals[0].shape)}}


def config_hash(config) -> str:
  """sha256 of the config as the workdir saves it (config.json)."""
  return hashlib.sha256(workdir_lib.config_json(config).encode()).hexdigest()


def _is_export(path) -> bool:
  """Whether `path` (a model file or its .json) is what an export wrote: its contract says so."""
  contract_file = paths.path(str(path).removesuffix('.json') + '.json')
  try:
    return json.loads(contract_file.read_text()).get('format') == FORMAT
  except (OSError, ValueError, AttributeError):
    return False


def check_output(output: str, workdir: str | None = None) -> None:
  """UserError, before anything is loaded, if `output` (or `output`.json) is a folder, lies inside
  the workdir export reads (its config or a checkpoint could be written over), or is a file that
  an earlier export did not write."""
  for target in (output, output + '.json'):
    if paths.path(target).is_dir():
      raise UserError(f'--output {target} is a folder; export writes a file, e.g. '
                      f'{os.path.join(target, "model.jax")}')
  workdir_lib.check_outside(output, workdir, '--output')
  workdir_lib.check_not_in_run(os.path.dirname(output) or '.', '--output')
  for target in (output, output + '.json'):
    if paths.path(target).exists() and not _is_export(target):
      raise UserError(f'--output {target} exists and is not an exported model; export replaces '
                      f'only its own files (remove it, or name another)')


def export_workdir(config, workdir: str, output: str, platforms=PLATFORMS) -> dict:
  """Writes `output` (the serialised export of `workdir`'s newest checkpoint) and `output`.json;
  returns what the JSON holds."""
  check_output(output, workdir)
  if not paths.path(workdir).is_dir():  # loading would leave an empty checkpoints folder behind
    raise UserError(f'--workdir {workdir} does not exist; train first')
  task = validation.validate(config)
  loaded = inference.load_model(task, workdir, parallel.create_mesh())
  exported, io = export_function(task.model, loaded.variables, task.input_shape(), platforms)
  params = jax.tree.leaves(loaded.variables[contract.PARAMS])
  meta = {
      'format': FORMAT, 'model': config.model, 'label': task.label,
      'model_kwargs': build.model_kwargs(config),
      'hyperparameters': contract.hyperparameters(task.model),
      'parameters': int(sum(np.size(p) for p in params)), **io,
      'platforms': list(exported.platforms), 'conv_impl': CONV_IMPL,
      'config_sha256': config_hash(config), 'checkpoint_step': int(loaded.step),
      'jax_version': jax.__version__,
      'calling_convention_version': exported.calling_convention_version,
  }
  if parallel.is_main_process():
    try:
      paths.path(output).parent.mkdir(parents=True, exist_ok=True)
      paths.write_bytes(output, bytes(exported.serialize()))
      paths.write_text(output + '.json', json.dumps(meta, indent=2) + '\n')
    except OSError as e:
      raise UserError(f'cannot write {output}: {e.strerror or e}') from None
  return meta


def run(flags, config) -> None:
  meta = export_workdir(config, flags.workdir, flags.output)
  print(f'exported {meta["label"]} (step {meta["checkpoint_step"]}, {meta["parameters"]:,} '
        f'parameters) for {", ".join(meta["platforms"])} to {flags.output}: '
        f'{meta["input"]["shape"]} -> {meta["output"]["shape"]}; contract in {flags.output}.json')
