"""Every model family learns: a few dozen to a few hundred steps on tiny images lower the training
loss, raise the training PSNR and restore the images better than their noisy input. One cheap run
per model file.

The images are smooth colour waves, which every family can represent, so a run that learns
nothing fails: a constant output scores below the noisy input (sigma 0.2) on them.
"""
import os

import numpy as np
import pytest

from aedenoise.input_pipeline import images as image_io
from aedenoise.runtime.writers import read_jsonl
from aedenoise.training import train
from conftest import tiny_config

# model -> (steps, config fields): a run of seconds that learns.
RUNS = {
    # dual_autoencoders.py, its smallest model (100x100 grey, BCE)
    'single': (60, {'learning_rate': 3e-3}),
    # cifar_autoencoders.py (BatchNorm)
    'cifar_model_b_small': (60, {'data.image_size': (16, 16), 'data.channels': 3, 'loss': 'mse',
                                 'learning_rate': 1e-2}),
    # mnist_dae.py: its 4-channel models lose every ReLU at larger learning rates
    'mnist_dae': (150, {'data.image_size': (28, 28), 'loss': 'mse', 'learning_rate': 1e-3}),
    # image_quality.py
    'cifar_pool_ae': (200, {'data.image_size': (32, 32), 'data.channels': 3, 'loss': 'mse',
                            'learning_rate': 1e-2}),
    # sidd_linear.py
    'sidd_linear_ae': (30, {'data.image_size': (16, 16), 'data.channels': 3, 'loss': 'mse',
                            'learning_rate': 1e-4}),
    # dncnn.py, unet.py (small), residual
    'dncnn': (40, {'data.image_size': (16, 16), 'data.channels': 3, 'loss': 'mse',
                   'learning_rate': 3e-3, 'model_kwargs': {'depth': 5, 'features': 16}}),
    'unet': (40, {'data.image_size': (16, 16), 'data.channels': 3, 'loss': 'mse',
                  'learning_rate': 3e-3, 'model_kwargs': {'features': (8, 16, 32)}}),
}
# Self-supervised training methods, on the small U-Net: no clean image enters their loss.
METHODS = {'noise2noise': 60, 'neighbor2neighbor': 60}


@pytest.fixture(scope='module')
def smooth_images(tmp_path_factory) -> str:
  """16 RGB images of 100x100, each channel a sinusoid of low frequency."""
  folder = tmp_path_factory.mktemp('smooth')
  rng = np.random.default_rng(0)
  v, u = np.mgrid[0:100, 0:100] / 100
  for i in range(16):
    channels = []
    for _ in range(3):
      fu, fv = rng.uniform(0.5, 2.0, 2)
      channels.append(0.5 + 0.35 * np.sin(2 * np.pi * (fu * u + fv * v) + rng.uniform(0, 7)))
    image_io.write_image(os.path.join(folder, f'{i:02d}.png'), np.stack(channels, -1))
  return str(folder)


def _run(model, steps, fields, smooth_images, tmp_path):
  config = tiny_config(model, **{
      'data.train': f'folder:{smooth_images}', 'data.eval': f'folder:{smooth_images}',
      'degradation': {'kind': 'gaussian', 'sigma': 0.2}, 'num_train_steps': steps,
      'log_every_steps': steps // 4, 'checkpoint_every_steps': steps, 'data.num_eval': 8,
      **fields})
  result = train.train_and_evaluate(config, str(tmp_path))
  logged = [r for r in read_jsonl(str(tmp_path / 'metrics.jsonl')) if r['kind'] == 'train']
  (ours,) = [r for r in result['eval'] if 'gain' in r]
  return logged, ours, result


@pytest.mark.parametrize('model', sorted(RUNS))
def test_training_lowers_the_loss_and_beats_the_noisy_input(model, smooth_images, tmp_path):
  logged, ours, result = _run(model, *RUNS[model], smooth_images, tmp_path)
  assert logged[-1]['loss'] < logged[0]['loss'], logged
  assert logged[-1]['psnr'] > logged[0]['psnr'] + 0.5, logged  # on the training batches
  assert ours['gain'] > 0, result['eval']


@pytest.mark.parametrize('method', sorted(METHODS))
def test_self_supervised_training_beats_the_noisy_input(method, smooth_images, tmp_path):
  steps, fields = RUNS['unet']
  logged, ours, result = _run('unet', METHODS[method], {**fields, 'method': method},
                              smooth_images, tmp_path)
  assert logged[-1]['loss'] < logged[0]['loss'], logged
  assert ours['gain'] > 0, result['eval']
