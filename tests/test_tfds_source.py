"""TFDS sources: the study datasets through tfds.testing.mock_data, and MNIST prepared for real from
the original files without network; TensorFlow stays out of every other module."""
import os
import subprocess
import sys

import numpy as np
import pytest

from aedenoise import input_pipeline
from aedenoise.configs import default
from aedenoise.input_pipeline.errors import SourceError
from aedenoise.input_pipeline.folders import Subset
from aedenoise.input_pipeline.loader import TrainBatches
from aedenoise.input_pipeline.sources import open_source
from conftest import ROOT, shared_dataset

tfds = pytest.importorskip('tensorflow_datasets')


def data_config(tmp_path, **overrides):
  config = default.get_config()
  config.data.tfds_data_dir = str(tmp_path / 'tfds')
  config.data.update(overrides)
  return config


@pytest.mark.parametrize('spec,channels,original', [
    ('tfds:cifar10:test', 1, (32, 32, 3)),         # the CIFAR-10 and image-quality studies, colour to gray
    ('tfds:cats_vs_dogs', 3, None),                # the image-quality study: varying sizes
    ('tfds:lfw:train[:4]', 3, (250, 250, 3)),      # the dual-autoencoder study: faces; TFDS slicing syntax
])
def test_study_datasets_with_mock_data(tmp_path, spec, channels, original):
  config = data_config(tmp_path, channels=channels, train=spec, image_size=(24, 24))
  config.batch_size = 4
  with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
    src = open_source(spec, config.data, 'all')
    image = src[0]['target']
    assert image.dtype == np.uint8 and image.shape[-1] == channels
    if original:
      assert image.shape[:2] == original[:2]
    batches = input_pipeline.create_train_iterator(config, start_step=0)
    batch = next(batches)['target']
    batches.close()
  assert batch.shape == (4, 24, 24, channels) and batch.dtype == np.uint8
  assert batch.std() > 0


def test_config_split_cuts_a_dataset_named_without_split(tmp_path):
  config = data_config(tmp_path)
  with tfds.testing.mock_data(num_examples=50, policy=tfds.testing.MockPolicy.USE_CODE):
    parts = {s: open_source('tfds:mnist', config.data, s) for s in ('train', 'val', 'test')}
    assert isinstance(parts['test'], Subset)
    assert {s: len(p) for s, p in parts.items()} == {'train': 36, 'val': 4, 'test': 10}
    assert not set(parts['train'].indices) & set(parts['test'].indices)


def test_unknown_dataset_and_feature_are_one_line_errors(tmp_path):
  with pytest.raises(SourceError, match='tfds:no_such_dataset: DatasetNotFoundError'):
    open_source('tfds:no_such_dataset', data_config(tmp_path).data, 'all')
  config = data_config(tmp_path, tfds_image_key='picture')
  with tfds.testing.mock_data(num_examples=2, policy=tfds.testing.MockPolicy.USE_CODE):
    with pytest.raises(SourceError, match="no feature 'picture'"):
      open_source('tfds:mnist:train', config.data, 'all')


def test_mnist_prepares_offline_from_the_original_files(tmp_path):
  manual = shared_dataset('mnist')
  config = data_config(tmp_path, tfds_manual_dir=manual, fit='resize')
  test = open_source('tfds:mnist:test', config.data, 'all')
  assert len(test) == 10_000
  digits = np.stack([test[i]['target'] for i in range(200)])
  assert sorted({int(test[i]['label']) for i in range(200)}) == list(range(10))  # labels too
  assert digits.shape == (200, 28, 28, 1)
  assert 25 < digits.mean() < 42 and (digits == 0).mean() > 0.7  # white digits on black
  assert os.path.isdir(tmp_path / 'tfds' / 'mnist')
  batches = TrainBatches(test, global_batch=8, image_size=(100, 100), fit_mode='resize')
  assert next(batches)['target'].shape == (8, 100, 100, 1)
  batches.close()


def test_nothing_but_the_tfds_source_imports_tensorflow():
  code = ('import sys; import main; import aedenoise.input_pipeline.pairs; '
          'from aedenoise import augment; from aedenoise.training import train; '
          'from aedenoise.evaluation import evaluate; '
          'bad = [m for m in sys.modules if m.split(".")[0] in ("tensorflow", "tensorflow_datasets")]; '
          'print(bad); sys.exit(1 if bad else 0)')
  result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
  assert result.returncode == 0, result.stdout + result.stderr[-2000:]
