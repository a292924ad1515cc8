"""--mode=degrade end to end (main.py in a subprocess, on Set12) and its argument parsing."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from aedenoise.errors import UserError
from aedenoise.restoration import degrade_files
from conftest import ROOT, shared_dataset


def _main(*args):
  return subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), '--mode=degrade', *args],
                        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)


def _read(path):
  return np.asarray(Image.open(path), np.float64) / 255.0


@pytest.fixture(scope='module')
def set12_subset(tmp_path_factory):
  """Three 256x256 Set12 images, one in a subfolder (relative names must be kept)."""
  src = shared_dataset('set12')
  root = tmp_path_factory.mktemp('clean')
  os.makedirs(root / 'sub')
  for name, dst in (('01.png', '01.png'), ('02.png', 'sub/02.png'), ('05.png', '05.png')):
    shutil.copy(os.path.join(src, name), root / dst)
  return root


def test_gaussian_outputs_have_the_stated_residual_statistics(set12_subset, tmp_path):
  out = tmp_path / 'noisy'
  r = _main(f'--input={set12_subset}', f'--output={out}', '--degradation=gaussian',
            '--degradation_args=sigma=0.05,mean=0.02,clip=false', '--seed=7')
  assert r.returncode == 0, r.stderr
  assert sorted(degrade_files.image_io.list_images(str(out))) == ['01.png', '05.png', 'sub/02.png']
  residuals = []
  for rel in ('01.png', 'sub/02.png', '05.png'):
    clean, noisy = _read(set12_subset / rel), _read(out / rel)
    assert noisy.shape == clean.shape  # grey stays grey
    # Writing a PNG clips to [0, 1]: keep pixels far enough from black and white.
    keep = (clean > 0.25) & (clean < 0.75)
    residuals.append((noisy - clean)[keep])
  res = np.concatenate(residuals)
  assert res.mean() == pytest.approx(0.02, abs=0.002)
  # 8-bit rounding adds 1 / (12 * 255^2) to the variance.
  assert res.var() == pytest.approx(0.05 ** 2 + 1 / (12 * 255 ** 2), rel=0.05)


def test_salt_pepper_outputs_hit_the_stated_fraction(set12_subset, tmp_path):
  out = tmp_path / 'impulse'
  r = _main(f'--input={set12_subset}', f'--output={out}', '--degradation=quality_salt_pepper',
            '--degradation_args=amount=0.3')
  assert r.returncode == 0, r.stderr
  assert 'degraded 3 images' in r.stdout
  clean, noisy = _read(set12_subset / '01.png'), _read(out / '01.png')
  interior = (clean > 0) & (clean < 1)  # a hit there is always a visible change
  changed = noisy[interior] != clean[interior]
  assert changed.mean() == pytest.approx(0.3, abs=0.01)
  assert set(np.unique(noisy[interior][changed])) == {0.0, 1.0}


def test_bad_arguments_give_one_error_line_each_and_no_traceback(set12_subset, tmp_path):
  r = _main(f'--input={set12_subset}', f'--output={tmp_path / "x"}', '--degradation=gaussian_blur',
            '--degradation_args=sigma=abc,foo=1,size=0.5:1,boundary=nope,angle')
  assert r.returncode == 2
  lines = r.stderr.strip().splitlines()
  assert len(lines) == 5, r.stderr
  assert all(line.startswith('error: ') for line in lines)
  for needle in ("'angle' is not name=value", "sigma must be a number", "unknown parameter 'foo'",
                 'size sets a shape', 'boundary must be one of'):
    assert sum(needle in line for line in lines) == 1, needle
  assert 'Traceback' not in r.stderr and not os.path.exists(tmp_path / 'x')


def test_output_depends_on_seed_and_name_only(set12_subset, tmp_path):
  spec = degrade_files.make_spec('faces_mix', None)
  degrade_files.degrade_folder(str(set12_subset), str(tmp_path / 'a'), spec, seed=1)
  degrade_files.degrade_folder(str(set12_subset), str(tmp_path / 'b'), spec, seed=1)
  degrade_files.degrade_folder(str(set12_subset), str(tmp_path / 'c'), spec, seed=2)
  # The same image alone in another folder under the same name: the same output.
  alone = tmp_path / 'alone'
  os.makedirs(alone)
  shutil.copy(set12_subset / '05.png', alone / '05.png')
  degrade_files.degrade_folder(str(alone), str(tmp_path / 'd'), spec, seed=1)
  a = _read(tmp_path / 'a' / '05.png')
  np.testing.assert_array_equal(a, _read(tmp_path / 'b' / '05.png'))
  np.testing.assert_array_equal(a, _read(tmp_path / 'd' / '05.png'))
  assert not np.array_equal(a, _read(tmp_path / 'c' / '05.png'))
  assert not np.array_equal(_read(tmp_path / 'a' / '01.png'), _read(set12_subset / '01.png'))


def test_output_inside_input_is_refused(set12_subset):
  spec = degrade_files.make_spec('mnist_gaussian', None)
  with pytest.raises(UserError, match='outside'):
    degrade_files.degrade_folder(str(set12_subset), str(set12_subset / 'out'), spec, seed=0)


@pytest.mark.parametrize('text,value', [
    ('true', True), ('False', False), ('none', None), ('3', 3), ('-2', -2), ('0.25', 0.25),
    ('1e-3', 1e-3), ('0.1:0.2', (0.1, 0.2)), ('-1:2.5', (-1.0, 2.5)), ('bicubic', 'bicubic'),
    ('1:x', '1:x'),
])
def test_parse_value(text, value):
  assert degrade_files.parse_value(text) == value


def test_dotted_arguments_reach_into_a_composed_preset():
  spec = degrade_files.make_spec('faces_mix', 'options.gaussian.sigma=0.3,options.impulse.amount=0.1:0.2')
  assert spec['options']['gaussian']['sigma'] == 0.3
  assert spec['options']['impulse']['amount'] == (0.1, 0.2)
  with pytest.raises(UserError, match="no entry 'options.gauss'"):
    degrade_files.make_spec('faces_mix', 'options.gauss.sigma=0.3')
  with pytest.raises(UserError, match='unknown'):
    degrade_files.make_spec('blurry', None)
