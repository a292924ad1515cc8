"""Workdirs written by the previous version (tests/fixtures/legacy_workdirs) still load: their
checkpoints give the outputs they gave, and they evaluate, restore and resume."""
import json
import os
import shutil

import jax
import numpy as np
import pytest

from aedenoise import build
from aedenoise.evaluation import evaluate_checkpoint
from aedenoise.input_pipeline import images as image_io
from aedenoise.models import MODELS
from aedenoise.restoration import inference, restore
from aedenoise.runtime import parallel
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.runtime.writers import read_jsonl
from aedenoise.training import train

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'legacy_workdirs')
NAMES = ('mnist_dae_d1_l13', 'cifar_model_b_small')


def _copy(name, tmp_path) -> str:
  workdir = str(tmp_path / name)
  shutil.copytree(os.path.join(FIXTURES, name), workdir)
  return workdir


@pytest.mark.parametrize('name', NAMES)
def test_a_legacy_checkpoint_gives_the_outputs_it_gave(name, tmp_path):
  workdir = _copy(name, tmp_path)
  config = workdir_lib.load_config(workdir)
  assert config.model in MODELS
  loaded = inference.load_model(build.task(config), workdir, parallel.create_mesh(jax.devices()[:1]))
  expected = np.load(os.path.join(workdir, 'expected_outputs.npz'))
  assert loaded.step == int(expected['step']) == 4
  outputs = loaded.model.apply(loaded.variables, expected['x'], train=False)
  np.testing.assert_allclose(outputs, expected['y'], atol=2e-5)


def test_the_old_mnist_name_is_read_as_the_model_and_its_arguments(tmp_path):
  config = workdir_lib.load_config(_copy('mnist_dae_d1_l13', tmp_path))
  assert config.model == 'mnist_dae'
  assert dict(config.model_kwargs) == {'depth': 1, 'latent': 13}


def test_a_legacy_workdir_evaluates_and_restores(tmp_path):
  workdir = _copy('cifar_model_b_small', tmp_path)
  config = workdir_lib.load_config(workdir)
  records = evaluate_checkpoint.run(config, workdir)
  assert {r['method'] for r in records} == {'input', 'cifar_model_b_small'}
  assert os.path.exists(os.path.join(workdir, 'eval', 'builtin_skimage_step4.json'))
  photos = tmp_path / 'photos'
  photos.mkdir()
  image_io.write_image(photos / 'a.png', np.random.default_rng(0).random((20, 24, 3)))
  result = restore.restore_folder(config, workdir, str(photos), str(tmp_path / 'out'))
  assert result['written'] == 1
  assert image_io.read_image(str(tmp_path / 'out' / 'a.png'), 3).shape == (20, 24, 3)


def test_a_legacy_workdir_resumes_where_it_stopped(tmp_path):
  workdir = _copy('cifar_model_b_small', tmp_path)
  config = workdir_lib.load_config(workdir)
  config.num_train_steps = 6
  train.train_and_evaluate(config, workdir)
  steps = [r['step'] for r in read_jsonl(os.path.join(workdir, 'metrics.jsonl'))
           if r['kind'] == 'train']
  assert steps == [2, 4, 6]  # the old run's two log points, then this run's from step 5 on
  meta = json.loads(open(os.path.join(workdir, 'checkpoints', '6', 'meta', 'metadata')).read())
  assert meta['model'] == 'cifar_model_b_small' and meta['optimizer']['ema']
