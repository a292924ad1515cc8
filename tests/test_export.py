"""--mode=export: the file runs in a process that has JAX but not the project, matches
--mode=restore within one 8-bit level, takes several sizes of a fully convolutional model, and
bad requests are one line."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, tiny_config
from test_cli import _assert_one_line_error, main_py

from aedenoise import build
from aedenoise.models import contract
from aedenoise.restoration import export, inference, restore
from aedenoise.runtime import parallel
from aedenoise.training import train

SMALL = {'data.image_size': (16, 16), 'data.channels': 3, 'loss': 'mse'}


# Runs a script with the project unimportable even when it is pip-installed (editable or not):
# a meta-path finder ahead of all others refuses `aedenoise`.
_BLOCKED = """
import runpy, sys
class _NoProject:
  def find_spec(self, name, path=None, target=None):
    if name == 'aedenoise' or name.startswith('aedenoise.'):
      raise ModuleNotFoundError(f'no module named {name!r} (blocked)')
sys.meta_path.insert(0, _NoProject())
script, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_path(script, run_name='__main__')
"""


def _without_project(tmp_path, *args):
  """examples/load_exported.py copied into an empty folder and run there, with no PYTHONPATH
  and the project's package out of reach."""
  folder = tmp_path / 'elsewhere'
  folder.mkdir()
  shutil.copy(os.path.join(ROOT, 'examples', 'load_exported.py'), folder)
  (folder / 'probe.py').write_text('import aedenoise\n')
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  run = lambda argv: subprocess.run([sys.executable, '-c', _BLOCKED, *argv], cwd=folder, env=env,
                                    capture_output=True, text=True, timeout=300)
  probe = run(['probe.py'])
  assert probe.returncode != 0 and 'blocked' in probe.stderr  # the project is out of reach
  return run(['load_exported.py', *map(str, args)])


def test_exported_model_runs_alone_and_matches_restore(tmp_path):
  workdir, model_file = tmp_path / 'w', tmp_path / 'out' / 'model.jax'
  config = tiny_config('cifar_model_b_small', **SMALL)
  train.train_and_evaluate(config, str(workdir))
  meta = export.export_workdir(config, str(workdir), str(model_file))
  written = json.loads((tmp_path / 'out' / 'model.jax.json').read_text())
  assert written == json.loads(json.dumps(meta))
  assert meta['platforms'] == ['cpu', 'cuda'] and meta['checkpoint_step'] == 4
  assert meta['parameters'] == 5_539 and meta['model'] == 'cifar_model_b_small'
  assert meta['input']['multiple'] == 4 and meta['input']['channels'] == 3
  assert meta['config_sha256'] == hashlib.sha256((workdir / 'config.json').read_bytes()).hexdigest()

  rng = np.random.default_rng(0)
  sizes = [(16, 16), (28, 28)]  # whole images, mirrored at their borders as restore mirrors them
  args = []
  for h, w in sizes:
    pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    (tmp_path / f'in{h}').mkdir()
    Image.fromarray(pixels).save(tmp_path / f'in{h}' / 'a.png')
    np.save(tmp_path / f'in{h}.npy', pixels.astype(np.float32) / 255.0)
    args += [tmp_path / f'in{h}.npy', tmp_path / f'out{h}.npy']
  result = _without_project(tmp_path, model_file, *args)
  assert result.returncode == 0, result.stderr
  printed = [json.loads(line) for line in result.stdout.splitlines()]
  assert [p['output'] for p in printed] == [[h, w, 3] for h, w in sizes]  # what it saved
  for h, w in sizes:
    restore.restore_folder(config, str(workdir), str(tmp_path / f'in{h}'),
                           str(tmp_path / f'restored{h}'))
    expected = np.asarray(Image.open(tmp_path / f'restored{h}' / 'a.png')).astype(int)
    got = np.load(tmp_path / f'out{h}.npy')
    assert got.shape == (h, w, 3)
    assert np.abs(np.round(got * 255).astype(int) - expected).max() <= 1

  loaded = jax.export.deserialize(bytearray(model_file.read_bytes()))
  assert loaded.call(np.zeros((2, 20, 36, 3), np.float32)).shape == (2, 20, 36, 3)
  with pytest.raises(ValueError, match='polymorphic shapes'):  # not a multiple of the stride
    loaded.call(np.zeros((1, 18, 18, 3), np.float32))


def _random_variables(task):
  """Variables of the model's shapes without running its initialisers (slow on large inputs):
  small weights, and positive state (BatchNorm's variances)."""
  rng = np.random.default_rng(0)
  params, state = contract.split(task.abstract_variables)
  return contract.merge(
      jax.tree.map(lambda s: rng.normal(0, 0.1, s.shape).astype(s.dtype), params),
      jax.tree.map(lambda s: rng.uniform(0.5, 1.0, s.shape).astype(s.dtype), state))


@pytest.mark.parametrize('name, size', [
    ('dual_skip', {'multiple': 4, 'min_size': [4, 4]}),  # mirrored by 32 pixels a side first
    ('sr_deconv', {'multiple': 1}),
    ('cifar_vae', {'fixed_size': [32, 32]}),  # Dense layers
    ('sr_resnet', {'fixed_size': [16, 16]}),  # a numpy resampling matrix needs concrete sizes
])
def test_each_geometry_exports_what_it_can(name, size):
  config = __import__(f'aedenoise.configs.{name}', fromlist=['x']).get_config('quick')
  task = build.task(config)
  model = task.model
  variables = _random_variables(task)
  shape = task.input_shape()
  exported, io = export.export_function(model, variables, shape)
  assert size.items() <= io['input'].items()
  assert ('why_fixed' in io['input']) == (name == 'sr_resnet')
  scale = io['output']['scale']
  if 'multiple' in io['input']:  # sizes other than the configured one, small to keep this quick
    m, low = io['input']['multiple'], io['input']['min_size'][0]
    h, w = low + m, low + 3 * m
  else:
    h, w = shape[1:3]
  x = np.random.default_rng(1).random((2, h, w, shape[3])).astype(np.float32)
  got = exported.call(x)
  assert got.shape == (2, h * scale, w * scale, io['output']['channels'])
  if 'multiple' in io['input']:  # borders mirrored as restore mirrors them
    expected = np.stack(_restorer(task, variables).restore(list(x)))
  else:
    expected = jax.jit(lambda x: contract.predict(model, variables, x))(x)
  np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1 / 255)


def _restorer(task, variables):
  return inference.Restorer(task, variables, parallel.create_mesh())


@pytest.mark.parametrize('name', ['dual_skip', 'unet'])
def test_exported_model_equals_restore_on_whole_images_borders_included(name):
  """One file, three image sizes (each within restore's default tile), every pixel within one
  8-bit level of --mode=restore's, the outermost ring included."""
  config = __import__(f'aedenoise.configs.{name}', fromlist=['x']).get_config('quick')
  task = build.task(config)
  model = task.model
  variables = _random_variables(task)
  exported, io = export.export_function(model, variables, task.input_shape(),
                                        platforms=('cpu',))
  assert io['input']['border'] == {'mirrored': 32}
  restorer = _restorer(task, variables)
  rng = np.random.default_rng(2)
  for h, w in ((36, 44), (100, 100), (132, 200)):
    image = rng.random((h, w, config.data.channels)).astype(np.float32)
    got = np.round(np.asarray(exported.call(image[None]))[0] * 255)
    want = np.round(np.clip(restorer.restore([image])[0], 0, 1) * 255)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1, (h, w, np.abs(got - want).max())


def test_bad_export_is_one_line(tmp_path):
  config = '--config=configs/cifar_model_b_small.py:quick'
  (tmp_path / 'empty').mkdir()
  _assert_one_line_error(
      main_py(config, '--mode=export', f'--workdir={tmp_path / "empty"}',
              f'--output={tmp_path / "m.jax"}'), 'no checkpoint', 'train first')
  _assert_one_line_error(
      main_py(config, '--mode=export', f'--workdir={tmp_path / "empty"}', f'--output={tmp_path}'),
      f'--output {tmp_path} is a folder')
  _assert_one_line_error(
      main_py(config, '--mode=export', f'--workdir={tmp_path / "nowhere"}',
              f'--output={tmp_path / "m.jax"}'), 'does not exist')
  assert not (tmp_path / 'nowhere').exists()
  _assert_one_line_error(main_py(config, '--mode=export', f'--workdir={tmp_path}'), '--output')
