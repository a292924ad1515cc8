"""The MNIST grid runner: trains the named models, resumes an unfinished one instead of restarting
it, skips finished ones, and writes both figures and the table. Tiny 28x28 folders stand in for
MNIST so that the test needs neither TensorFlow nor the dataset."""
import csv
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from aedenoise import grid, train, writers
from aedenoise.errors import UserError
from configs import mnist_dae
from tests.conftest import ROOT

MODELS = ['mnist_dae_d1_l13', 'mnist_dae_d1_l5']


def _digits(folder, n, seed):
  os.makedirs(folder)
  rng = np.random.default_rng(seed)
  for i in range(n):
    img = np.zeros((28, 28), np.uint8)
    top, left = rng.integers(2, 14, size=2)
    img[top:top + 12, left:left + 4] = 255
    Image.fromarray(img).save(os.path.join(folder, f'{i}.png'))
  return folder


@pytest.fixture(name='data')
def _data(tmp_path):
  """(train folder, test folder): 20 images split 16/4 into train/val like MNIST's 80/20, 6 test."""
  return _digits(tmp_path / 'train', 20, 0), _digits(tmp_path / 'test', 6, 1)


def _config(data, steps):
  config = mnist_dae.get_config('quick')
  config.data.train = config.data.eval = f'folder:{data[0]}'
  config.data.test = f'folder:{data[1]}'
  config.batch_size, config.num_train_steps = 8, steps
  config.log_every_steps, config.checkpoint_every_steps, config.eval_every_steps = 1, 2, 2
  config.data.num_eval, config.data.num_workers = 4, 1
  config.eval.batch_size, config.eval.grid_images = 8, 2
  return config


def test_grid_trains_resumes_skips_and_writes_figures_and_table(tmp_path, data, monkeypatch):
  workdir = str(tmp_path / 'grid')
  rows = grid.run_grid(_config(data, 2), workdir, MODELS)
  assert [r['model'] for r in rows] == MODELS
  for name in ('loss_curves.png', 'test_loss.png'):
    with Image.open(os.path.join(workdir, name)) as im:
      assert im.size[0] > 500 and im.size[1] > 300
  with open(os.path.join(workdir, 'grid.csv')) as f:
    table = list(csv.DictReader(f))
  assert [r['parameters'] for r in table] == ['2053', '4613']
  assert all(float(r['test_loss']) > 0 and float(r['val_loss']) > 0 for r in table)
  assert 'test_psnr' in open(os.path.join(workdir, 'grid.md')).read()

  # A longer run resumes each model from its checkpoint at step 2; a finished one is skipped.
  starts = []
  real = train.input_pipeline.create_train_iterator
  monkeypatch.setattr(train.input_pipeline, 'create_train_iterator',
                      lambda config, *, start_step, **kw: starts.append(start_step) or real(
                          config, start_step=start_step, **kw))
  grid.run_grid(_config(data, 3), workdir, MODELS[:1])
  assert starts == [2]
  grid.run_grid(_config(data, 3), workdir, MODELS[:1])
  assert starts == [2]
  steps = [r['step'] for r in writers.read_jsonl(os.path.join(workdir, MODELS[0], 'metrics.jsonl'))
           if r['kind'] == 'train']
  assert steps == [1, 2, 3]


def test_models_flag():
  assert grid.select_models('') == list(grid.RUNS)
  assert grid.select_models('d5_l8, mnist_dae_d1_l13') == ['mnist_dae_d5_l8', 'mnist_dae_d1_l13']
  with pytest.raises(UserError, match="unknown model 'd2_l4'"):
    grid.select_models('d2_l4')


def test_bad_flag_is_one_error_line(tmp_path):
  out = subprocess.run([sys.executable, '-m', 'aedenoise.grid', '--config=configs/mnist_dae.py',
                        f'--workdir={tmp_path}', '--models=d1_l7'], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, check=False)
  assert out.returncode == 2
  assert out.stderr.strip().splitlines()[-1].startswith("error: --models: unknown model 'd1_l7'")
