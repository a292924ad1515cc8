"""--mode=eval with eval.whole_images: every image of a folder at its own size, through the tiler,
with the crop evaluation's rows (input, classic baselines, model) and a footer saying so."""
import numpy as np
import pytest
from PIL import Image

from conftest import tiny_config

from aedenoise.errors import UserError
from aedenoise.evaluation import evaluate_checkpoint
from aedenoise.training import train


def test_whole_images_of_mixed_sizes_are_scored(tmp_path):
  src = tmp_path / 'photos'
  src.mkdir()
  rng = np.random.default_rng(0)
  for i, (h, w) in enumerate(((37, 130), (101, 64), (8, 9))):
    Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).save(src / f'{i}.png')
  config = tiny_config('single', num_train_steps=2)
  train.train_and_evaluate(config, str(tmp_path / 'w'))
  config.data.eval = f'folder:{src}'
  config.degradation = {'kind': 'gaussian', 'sigma': 0.1}
  config.eval.whole_images = True
  config.eval.baselines = 'tv'
  config.eval.baseline_cache = str(tmp_path / 'cache')
  records = evaluate_checkpoint.run(config, str(tmp_path / 'w'))
  assert [r['method'] for r in records] == ['input', 'tv', 'single']
  assert all(r['images'] == 3 for r in records) and 'gain' in records[-1]
  footer = (tmp_path / 'w' / 'eval' / 'folder_photos_step2_whole.md').read_text()
  assert 'Scored on whole images' in footer and '8-bit quantised' in footer
  config.data.eval = 'builtin:skimage'
  with pytest.raises(UserError, match='folder'):
    evaluate_checkpoint.run(config, str(tmp_path / 'w'))


def test_super_resolution_rows_are_the_crop_evaluations(tmp_path):
  """A super-resolution model: whole images get the crop evaluation's rows, nearest, bilinear and
  bicubic upscalings of the same inputs, and the gain over bicubic."""
  from aedenoise.degradations import presets  # pylint: disable=g-import-not-at-top
  src = tmp_path / 'photos'
  src.mkdir()
  rng = np.random.default_rng(1)
  for i, (h, w) in enumerate(((40, 48), (64, 36))):
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(src / f'{i}.png')
  config = tiny_config('sr_deconv', num_train_steps=2, loss='mse',
                       **{'data.image_size': (32, 32), 'data.channels': 3})
  config.degradation = dict(presets.PRESETS['sr_x2'])
  train.train_and_evaluate(config, str(tmp_path / 'w'))
  crops = evaluate_checkpoint.run(config, str(tmp_path / 'w'))
  config.data.eval = f'folder:{src}'
  config.eval.whole_images = True
  whole = evaluate_checkpoint.run(config, str(tmp_path / 'w'))
  methods = ['nearest', 'bilinear', 'bicubic', 'sr_deconv']
  assert [r['method'] for r in crops] == [r['method'] for r in whole] == methods
  bicubic = next(r['psnr'] for r in whole if r['method'] == 'bicubic')
  assert whole[-1]['gain'] == pytest.approx(whole[-1]['psnr'] - bicubic)
