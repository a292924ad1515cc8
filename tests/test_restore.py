"""--mode=restore and its tiling: whole photos of any size through models that take one size or
multiples of their stride, tiled output equal to whole-image output, SR sizes, bad files counted."""
import os
import shutil

import jax
import numpy as np
import pytest
from PIL import Image

from conftest import tiny_config

from aedenoise import build
from aedenoise.errors import UserError
from aedenoise.models import contract
from aedenoise.models import geometry as geometry_lib
from aedenoise.restoration import inference, restore, tiling
from aedenoise.runtime import parallel
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.training import train


def _restorer(config_module, tile, overlap, arg='quick'):
  config = config_module.get_config(arg)
  task = build.task(config)
  model = task.model
  variables = task.init_variables()
  return model, variables, inference.Restorer(task, variables, parallel.create_mesh(),
                                            tile, overlap, batch_size=8)


@pytest.mark.parametrize('shape,scale', [((64, 96, 1), 1), ((37, 5, 3), 1), ((9, 130, 1), 4)])
def test_tiles_blend_back_to_the_image_exactly(shape, scale):
  image = np.random.default_rng(0).random(shape).astype(np.float32)
  p = tiling.plan(image, (32, 32), 8, multiple=4)
  blender = tiling.Blender(p, 8, scale, shape[-1])
  for i, t in enumerate(p.tiles()):
    blender.add(i, np.repeat(np.repeat(t, scale, 0), scale, 1))
  expected = np.repeat(np.repeat(image, scale, 0), scale, 1)
  np.testing.assert_allclose(blender.result(), expected, atol=1e-6)
  assert all(y % 4 == 0 and x % 4 == 0 for y, x in p.offsets)


def test_tiled_equals_whole_image_for_a_fully_convolutional_model():
  from aedenoise.configs import cifar_model_c
  model, variables, r = _restorer(cifar_model_c, tile=32, overlap=8)
  assert r.geometry.fixed is None and r.geometry.multiple == 4
  image = np.random.default_rng(1).random((64, 96, 3)).astype(np.float32)
  tiled = r.restore([image])[0]
  m = tiling.plan(image, r.tile, r.overlap, 4).margin
  assert m == 8  # the overlap: borders get mirrored context, not the model's zero padding
  mirrored = tiling.mirror(image, m, m, m, m)
  whole = contract.ACTIVATIONS[model.output_activation](model.apply(variables, mirrored[None],
                                                                   train=False))[0, m:-m, m:-m]
  assert len(tiling.plan(image, r.tile, r.overlap, 4).offsets) > 1
  assert np.abs(tiled - np.asarray(whole)).max() <= 1 / 255


def test_one_size_model_restores_any_size():
  from aedenoise.configs import cifar_vae  # Dense layers: 32x32 only
  _, _, r = _restorer(cifar_vae, tile=0, overlap=-1)
  assert r.geometry.fixed == (32, 32) and r.tile == (32, 32)
  rng = np.random.default_rng(2)
  images = [rng.random(s).astype(np.float32) for s in ((45, 70, 3), (3, 1, 3), (32, 32, 3))]
  assert [o.shape for o in r.restore(images)] == [i.shape for i in images]


def test_super_resolution_writes_the_scaled_size():
  from aedenoise.configs import sr_deconv
  _, _, r = _restorer(sr_deconv, tile=16, overlap=4)
  s = r.geometry.scale
  assert s > 1
  out = r.restore([np.random.default_rng(3).random((21, 30, 3)).astype(np.float32)])
  assert out[0].shape == (21 * s, 30 * s, 3)


def test_folder_of_mixed_sizes_gives_one_output_per_readable_input(tmp_path):
  workdir, src, dst = tmp_path / 'w', tmp_path / 'in', tmp_path / 'out'
  config = tiny_config('single', num_train_steps=2)
  train.train_and_evaluate(config, str(workdir))
  rng = np.random.default_rng(4)
  sizes = {'odd.png': (37, 53), 'tiny.png': (3, 2), 'sub/wide.png': (24, 1030)}
  for rel, (h, w) in sizes.items():
    (src / rel).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(src / rel)
  (src / 'broken.png').write_bytes(b'not an image')
  result = restore.restore_folder(config, str(workdir), str(src), str(dst), tile=100, overlap=20)
  assert result['written'] == 3 and len(result['skipped']) == 1
  assert result['adapted'] == {'colour restored channel by channel with the grey model': 3}
  assert '3 colour restored channel by channel' in result['line']
  for rel, (h, w) in sizes.items():
    assert np.asarray(Image.open(dst / rel)).shape == (h, w, 3)  # colour in, colour out
  with pytest.raises(UserError, match='outside'):
    restore.restore_folder(config, str(workdir), str(src), str(src / 'x'))
  with pytest.raises(UserError, match='outside'):
    restore.restore_folder(config, str(workdir), str(src), str(tmp_path))


def test_borders_are_restored_from_mirrored_context():
  """A 3x3 box blur with zero padding (what a convolutional model does at its input's edge) darkens
  an image's outermost pixels when applied whole; through the tiler, whose plan mirrors the image
  outwards first, the border of a constant image errs no more than its inside (where tile edges,
  weighted little, leave a small error)."""
  import flax.linen as nn  # pylint: disable=g-import-not-at-top

  class Blur(nn.Module):
    @nn.compact
    def __call__(self, x, train=False):
      return nn.Conv(1, (3, 3), padding='SAME', use_bias=False,
                     kernel_init=nn.initializers.constant(1 / 9))(x)
  image = np.full((40, 52, 1), 0.6, np.float32)
  model = Blur()
  variables = model.init(jax.random.key(0), image[None])
  whole = np.asarray(model.apply(variables, image[None]))[0]
  assert whole[0, 0, 0] < 0.3  # a quarter of the window outside the image
  geometry = geometry_lib.probe(lambda v, x: model.apply(v, x), variables, (1, 16, 16, 1))
  (tile, _), overlap = geometry.tile(16, 4)
  p = tiling.plan(image, (tile, tile), overlap, geometry.multiple)
  blender = tiling.Blender(p, overlap, 1, 1)
  for i, t in enumerate(p.tiles()):
    blender.add(i, np.asarray(model.apply(variables, t[None]))[0])
  err = np.abs(blender.result() - image)[..., 0]
  border = max(err[0].max(), err[-1].max(), err[:, 0].max(), err[:, -1].max())
  assert border <= err[1:-1, 1:-1].max() + 1e-6 and err.max() < 0.02  # whole: 0.2 at the border


def test_a_grey_image_through_a_colour_model_comes_back_grey(tmp_path):
  workdir, src, dst = tmp_path / 'w', tmp_path / 'in', tmp_path / 'out'
  shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures',
                               'legacy_workdirs', 'cifar_model_b_small'), workdir)
  config = workdir_lib.load_config(str(workdir))
  src.mkdir()
  Image.fromarray(np.random.default_rng(5).integers(0, 256, (20, 28), dtype=np.uint8)).save(
      src / 'g.png')
  result = restore.restore_folder(config, str(workdir), str(src), str(dst))
  assert result['adapted'] == {'grey restored as three equal channels with the colour model': 1}
  assert np.asarray(Image.open(dst / 'g.png')).shape == (20, 28)


def test_tiled_equals_whole_image_for_the_unet():
  """The U-Net's receptive field spans many pixels; with the default overlap the tiles blend back
  to the whole image's restoration within one 8-bit level."""
  from aedenoise.configs import unet  # pylint: disable=g-import-not-at-top
  model, variables, r = _restorer(unet, tile=256, overlap=-1, arg='colour,quick')
  assert r.geometry.fixed is None and r.geometry.multiple == 4 and r.tile == (256, 256)
  image = np.random.default_rng(3).random((280, 300, 3)).astype(np.float32)
  tiled = r.restore([image])[0]
  m = r.overlap
  whole = np.asarray(model.apply(variables, tiling.mirror(image, m, m, m, m)[None],
                                 train=False))[0, m:-m, m:-m]
  assert len(tiling.plan(image, r.tile, r.overlap, 4).offsets) > 1
  assert np.abs(tiled - whole).max() <= 1 / 255


def test_tile_batches_follow_the_memory_budget():
  """A budget below one tile's buffers still restores (one tile per device at a time), with the
  same result as a large budget."""
  from aedenoise.configs import cifar_model_c  # pylint: disable=g-import-not-at-top
  config = cifar_model_c.get_config('quick')
  task = build.task(config)
  variables = task.init_variables()
  mesh = parallel.create_mesh()
  one = inference.tiles_within(task, variables, (64, 64), 3, 1)
  many = inference.tiles_within(task, variables, (64, 64), 3, 4096)
  assert one < 8 < many
  small = inference.Restorer(task, variables, mesh, 64, 8, batch_size=64, max_memory_mb=1)
  large = inference.Restorer(task, variables, mesh, 64, 8, batch_size=64,
                             max_memory_mb=4096)
  n_dev = mesh.devices.size
  assert small.batch == n_dev and large.batch == 64
  image = np.random.default_rng(6).random((150, 130, 3)).astype(np.float32)
  np.testing.assert_allclose(small.restore([image])[0], large.restore([image])[0], atol=1e-5)


@pytest.mark.parametrize('name', ['unet', 'dual_skip'])
def test_whole_images_where_they_fit_equal_todays_tiles(name):
  """By default a photo goes through the model whole (one tile of its size, rounded up to a
  bucket) when that fits the memory budget, in tiles of the default size when not; the two agree
  within one 8-bit level, and the images of one stream may mix both."""
  config = __import__(f'aedenoise.configs.{name}', fromlist=['x']).get_config('quick')
  task = build.task(config)
  variables = task.init_variables()
  mesh = parallel.create_mesh()
  whole = inference.Restorer(task, variables, mesh)
  tiled = inference.Restorer(task, variables, mesh, tile=256)
  small_budget = inference.Restorer(task, variables, mesh, max_memory_mb=1)
  assert whole.tile_for(300, 280) == ((384, 352), mesh.devices.size)  # 300 + 2 * 32, to 32s
  assert tiled.tile_for(300, 280)[0] == (256, 256)
  assert tiled.tile_for(100, 300)[0] == (192, 256)  # a side smaller than the tile: shrunk to it
  assert small_budget.tile_for(300, 280)[0] == (256, 256)
  rng = np.random.default_rng(4)
  images = [rng.random(s + (config.data.channels,)).astype(np.float32)
            for s in ((300, 280), (64, 90), (300, 280))]
  for a, b in zip(whole.restore(images), tiled.restore(images)):
    assert a.shape == b.shape and np.abs(a - b).max() <= 1 / 255


def test_a_short_last_batch_runs_in_a_small_batch():
  r = inference.Restorer.__new__(inference.Restorer)
  r.n_dev = 2
  assert [r.padded_batch(n, 32) for n in (1, 2, 3, 5, 9, 17, 32)] == [2, 2, 4, 8, 16, 32, 32]
