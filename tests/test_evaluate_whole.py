"""--mode=eval with eval.whole_images: every image of a folder at its own size, through the tiler,
with the crop evaluation's rows (input, classic baselines, model) and a footer saying so."""
import numpy as np
import pytest
from PIL import Image

from conftest import tiny_config

from aedenoise import evaluate_checkpoint, train
from aedenoise.errors import UserError


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
