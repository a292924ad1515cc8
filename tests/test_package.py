"""--mode=package: a workdir of the inference variables alone, usable by every mode that reads a
model, refused by training."""

import jax
import numpy as np
import pytest

from aedenoise import build
from aedenoise.errors import UserError
from aedenoise.input_pipeline import images as image_io
from aedenoise.restoration import inference, package, restore
from aedenoise.runtime import parallel
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.training import train
from conftest import tiny_config


def test_a_packaged_model_restores_like_its_workdir_and_refuses_training(tmp_path):
  config = tiny_config('cifar_model_b_small', ema_decay=0.5, loss='mse',
                       **{'data.image_size': (16, 16), 'data.channels': 3})
  train.train_and_evaluate(config, str(tmp_path / 'w'))
  package.package(config, str(tmp_path / 'w'), str(tmp_path / 'p'))
  assert not (tmp_path / 'p' / 'checkpoints' / '4' / 'train').exists()
  shipped = workdir_lib.load_config(str(tmp_path / 'p'))
  assert shipped.ema_decay == 0.0
  mesh = parallel.create_mesh()
  original = inference.load_model(build.task(config), str(tmp_path / 'w'), mesh)
  packaged = inference.load_model(build.task(shipped), str(tmp_path / 'p'), mesh)
  assert packaged.step == original.step == 4
  for a, b in zip(*(sorted(_leaves(x.variables)) for x in (original, packaged))):
    np.testing.assert_array_equal(a[1], b[1])  # the EMA parameters and BatchNorm statistics
  photos = tmp_path / 'photos'
  photos.mkdir()
  image_io.write_image(photos / 'a.png', np.random.default_rng(0).random((20, 24, 3)))
  for workdir, cfg in (('w', config), ('p', shipped)):
    restore.restore_folder(cfg, str(tmp_path / workdir), str(photos),
                           str(tmp_path / f'out_{workdir}'))
  np.testing.assert_array_equal(image_io.read_image(str(tmp_path / 'out_w' / 'a.png'), 3),
                                image_io.read_image(str(tmp_path / 'out_p' / 'a.png'), 3))
  with pytest.raises(UserError, match='inference only'):
    train.train_and_evaluate(shipped, str(tmp_path / 'p'))
  assert (tmp_path / 'p' / 'checkpoints' / '4').exists()  # refused, not set aside as damaged
  with pytest.raises(UserError, match='already holds checkpoints'):
    package.package(config, str(tmp_path / 'w'), str(tmp_path / 'p'))


def _leaves(variables):
  return [(jax.tree_util.keystr(p), np.asarray(v))
          for p, v in jax.tree_util.tree_leaves_with_path(variables)]
