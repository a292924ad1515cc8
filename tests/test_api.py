"""aedenoise.load(workdir)(image): NumPy images of any size, shape and dtype back, grey and colour
through models of either kind."""
import os
import shutil

import numpy as np
import pytest

import aedenoise
from aedenoise.errors import UserError
from aedenoise.runtime import workdir as workdir_lib

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'legacy_workdirs')


@pytest.fixture(scope='module')
def colour_model(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('w') / 'cifar'
  shutil.copytree(os.path.join(FIXTURES, 'cifar_model_b_small'), workdir)
  return aedenoise.load(str(workdir))


@pytest.fixture(scope='module')
def grey_model(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('w') / 'mnist'
  shutil.copytree(os.path.join(FIXTURES, 'mnist_dae_d1_l13'), workdir)
  return aedenoise.load(str(workdir))


@pytest.mark.parametrize('shape,dtype', [((37, 45, 3), np.uint8), ((20, 30), np.float32),
                                         ((33, 17, 1), np.uint8), ((5, 9, 3), np.float64)])
def test_images_come_back_with_their_shape_and_dtype(colour_model, shape, dtype):
  rng = np.random.default_rng(0)
  image = (rng.integers(0, 256, shape).astype(dtype) if dtype == np.uint8
           else rng.random(shape).astype(dtype))
  restored = colour_model(image)
  assert restored.shape == image.shape and restored.dtype == image.dtype
  assert not np.array_equal(restored, image)


def test_a_grey_model_restores_colour_channel_by_channel_or_on_its_luma(grey_model):
  assert grey_model.channels == 1
  rng = np.random.default_rng(1)
  photo = rng.random((40, 44, 3)).astype(np.float32)
  per_channel = grey_model(photo)
  for c in range(3):  # each channel is the grey restoration of that channel
    np.testing.assert_allclose(per_channel[..., c], grey_model(photo[..., c]), atol=1e-6)
  grey_model.channel_mode = 'luma'
  try:
    luma = grey_model(photo)
  finally:
    grey_model.channel_mode = 'per_channel'
  assert luma.shape == photo.shape and not np.allclose(luma, per_channel)


def test_a_colour_model_restores_grey_through_three_equal_channels(colour_model):
  grey = np.random.default_rng(2).random((24, 24)).astype(np.float32)
  out = colour_model(grey)
  expected = colour_model(np.repeat(grey[..., None], 3, axis=-1)).mean(axis=-1)
  np.testing.assert_allclose(out, np.clip(expected, 0, 1), atol=1e-6)


def test_degrade_keeps_the_dtype(colour_model):
  clean = np.full((16, 16, 3), 128, np.uint8)
  noisy = aedenoise.degrade(clean, 'gaussian_s25', seed=3)
  assert noisy.dtype == np.uint8 and noisy.shape == clean.shape
  assert abs(float(np.std(noisy.astype(np.float32) - 128)) - 25) < 2
  np.testing.assert_array_equal(noisy, aedenoise.degrade(clean, 'gaussian_s25', seed=3))
  as_float = aedenoise.degrade(clean.astype(np.float32) / 255, 'gaussian_s25', seed=3)
  assert as_float.dtype == np.float32
  np.testing.assert_array_equal(noisy, np.round(np.clip(as_float, 0, 1) * 255).astype(np.uint8))
  grey = np.full((40, 48), 0.5, np.float32)  # a 2-D image through a degradation that shrinks it
  assert aedenoise.degrade(grey, 'sr_x4').shape == (10, 12)


def test_bad_input_is_one_line(colour_model):
  with pytest.raises(UserError, match='H x W'):
    colour_model(np.zeros((4, 4, 2)))
  with pytest.raises(UserError, match='no config.json'):
    aedenoise.load(os.path.join(FIXTURES, 'nosuch'))


def test_repr_is_short(colour_model):
  text = repr(colour_model)
  assert text.startswith('Denoiser(') and '\n' not in text and len(text) < 200


def test_load_logs_no_library_warnings(caplog):
  with caplog.at_level('INFO'):
    aedenoise.load(os.path.join(PRETRAINED, 'unet_grey_blind'))
  assert not [r for r in caplog.records if 'read only' in r.getMessage()]


PRETRAINED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'pretrained')
# Every shipped workdir: (name, its checkpoint step, channels).
SHIPPED = [('faces_dual_skip', 2500, 1), ('unet_grey_blind', 7000, 1), ('unet_colour_blind', 5000, 3),
           ('unet_grey_ne2ne', 10000, 1)]


def test_every_shipped_workdir_is_listed_here():
  shipped = sorted(n for n in os.listdir(PRETRAINED) if os.path.isdir(os.path.join(PRETRAINED, n)))
  assert shipped == sorted(name for name, *_ in SHIPPED)


@pytest.mark.parametrize('name,step,channels', SHIPPED)
def test_the_shipped_models_load_and_denoise(name, step, channels):
  """pretrained/<name>, as the repository ships it, at least halves the error of Gaussian noise
  (sigma 25) on a smooth image with its own channel count."""
  from image_files import smooth_image  # pylint: disable=g-import-not-at-top
  model = aedenoise.load(os.path.join(PRETRAINED, name))
  assert model.step == step and model.channels == channels
  clean = smooth_image(3, 100, 100, channels).astype(np.float32) / 255.0
  clean = clean[..., 0] if channels == 1 else clean
  noisy = aedenoise.degrade(clean, 'gaussian_s25', seed=0)
  restored = model(np.clip(noisy, 0, 1))
  mse = lambda a: float(np.mean((a - clean) ** 2))
  assert restored.shape == clean.shape and mse(restored) < mse(noisy) / 2


def test_a_uint16_array_is_restored_as_the_command_line_restores_a_16_bit_png(tmp_path):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from aedenoise.restoration import restore  # pylint: disable=g-import-not-at-top
  workdir = os.path.join(PRETRAINED, 'unet_grey_blind')
  deep = np.random.default_rng(5).integers(0, 65536, (36, 52), dtype=np.uint16)
  (tmp_path / 'in').mkdir()
  Image.fromarray(deep).save(tmp_path / 'in' / 'deep.png')
  restore.restore_folder(aedenoise.load(workdir).config, workdir, str(tmp_path / 'in'),
                         str(tmp_path / 'out'))
  from_file = np.asarray(Image.open(tmp_path / 'out' / 'deep.png'))
  from_array = aedenoise.load(workdir)(deep)
  assert from_array.dtype == np.uint16 and from_file.dtype.itemsize == 2
  assert np.abs(from_array.astype(np.int64) - from_file.astype(np.int64)).max() <= 1


@pytest.mark.parametrize('name,step,channels', SHIPPED)
def test_the_shipped_models_restore_as_they_did_through_tiles(name, step, channels):
  """Whole images with each layer's faster formulation (the default now) give the outputs of
  256x256 tiles with matrix-product convolutions (the default before) within one 8-bit level."""
  from image_files import smooth_image  # pylint: disable=g-import-not-at-top
  del step
  workdir = os.path.join(PRETRAINED, name)
  config = workdir_lib.load_config(workdir)
  config.conv_impl = 'matmul'
  before = aedenoise.load(workdir, config=config, tile=256)
  now = aedenoise.load(workdir)
  clean = smooth_image(4, 300, 280, channels).astype(np.float32) / 255.0
  noisy = np.clip(aedenoise.degrade(clean, 'gaussian_s25', seed=1), 0, 1)
  a, b = now(noisy), before(noisy)
  assert a.shape == b.shape and np.abs(a - b).max() <= 1 / 255
