"""The whole-image benchmark: DnCNN/KAIR noise convention, baselines cached across runs, model rows
through the tiler, and one-line errors for bad flags."""
import json

import numpy as np
import pytest

from conftest import shared_dataset, tiny_config

from aedenoise.errors import UserError
from aedenoise.evaluation import benchmark
from aedenoise.training import train


def test_noisy_row_is_unclipped_and_cache_is_reused(tmp_path):
  sets = [('set12', shared_dataset('set12'))]
  first = benchmark.run_benchmark(sets, [25], ['tv'], str(tmp_path), limit=2, workers=1)
  again = benchmark.run_benchmark(sets, [25], ['tv'], str(tmp_path), limit=2, workers=1)
  rows = {r['method']: r for r in first}
  assert rows['noisy']['psnr'] == pytest.approx(20 * np.log10(255 / 25), abs=0.1)
  assert rows['tv']['psnr'] > rows['noisy']['psnr'] + 5
  assert rows['tv']['cached'] == 0 and {r['method']: r for r in again}['tv']['cached'] == 2
  assert [r.get('psnr') for r in first] == [r.get('psnr') for r in again]
  saved = json.loads((tmp_path / 'benchmark.json').read_text())
  assert {'set', 'sigma', 'method', 'psnr', 'ssim', 'images', 'seconds'} <= set(saved['records'][1])
  assert rows['noisy']['published'] == 20.17
  assert rows['DnCNN-S (published only)']['published'] == 30.44  # Set12 at sigma 25
  assert 'Noise seed 0' in (tmp_path / 'benchmark.md').read_text()
  images = (tmp_path / 'benchmark_images.csv').read_text().splitlines()
  assert images[0] == 'set,sigma,method,image,psnr,ssim' and len(images) == 1 + 2 * 2


def test_model_rows_on_whole_images(tmp_path):
  config = tiny_config('single', num_train_steps=2)
  train.train_and_evaluate(config, str(tmp_path / 'my_single'))  # rows named by the workdir
  model = benchmark.ModelRows(config, str(tmp_path / 'my_single'), tile=100, overlap=20)
  records = benchmark.run_benchmark([('set12', shared_dataset('set12'))], [50], [],
                                    str(tmp_path / 'out'), limit=1, model=model)
  assert [r['method'] for r in records] == ['noisy', 'my_single', 'DnCNN-S (published only)']
  assert records[1]['images'] == 1 and np.isfinite(records[1]['psnr'])
  saved = json.loads((tmp_path / 'out' / 'benchmark.json').read_text())
  assert saved['provenance']['checkpoint step'] == 2 and saved['provenance']['model'] == 'single'
  assert saved['provenance']['workdir'] == str(tmp_path / 'my_single')
  # A colour set through the grey model: restored channel by channel.
  colour = benchmark.run_benchmark([('cbsd68', shared_dataset('cbsd68'))], [50], [],
                                   str(tmp_path / 'colour'), limit=1, model=model)
  assert [r['method'] for r in colour] == ['noisy', 'my_single']
  assert colour[1]['images'] == 1 and np.isfinite(colour[1]['psnr'])


@pytest.mark.parametrize('sets,sigma,match', [
    ('bsd68', '25', 'not NAME=DIR'), ('x=/no/such/dir', '25', 'not a folder'),
    (None, '25', 'required'), ('x=/tmp', '0,abc', 'integers from 1 to 255')])
def test_bad_flags_are_user_errors(sets, sigma, match):
  with pytest.raises(UserError, match=match):
    benchmark.parse_sets(sets)
    benchmark.parse_sigmas(sigma)
