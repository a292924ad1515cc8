"""main.py as users run it: summaries, scoring against scikit-image, and one-line errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from skimage import metrics as skm

from aedenoise.training import train
from conftest import ROOT, shared_dataset, tiny_config

DUAL_AE_COUNTS = {'single': 36_386, 'single_sep': 15_760, 'dual': 87_812, 'dual_sep': 52_445,
                  'dual_skip': 91_488, 'dual_skip_sep': 56_231}


def main_py(*args, env=None):
  return subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=600,
                        env={**os.environ, **(env or {})})


@pytest.mark.parametrize('name', sorted(DUAL_AE_COUNTS))
def test_summary_ends_with_the_papers_parameter_count(name):
  result = main_py(f'--config=configs/{name}.py', '--mode=summary')
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip().splitlines()[-1] == f'trainable parameters: {DUAL_AE_COUNTS[name]}'


def test_score_agrees_with_scikit_image(tmp_path):
  reference = shared_dataset('set12')
  rng = np.random.default_rng(0)
  names = sorted(os.listdir(reference))[:4]
  expected = {}
  for name in names:
    clean = np.asarray(Image.open(os.path.join(reference, name)).convert('L'))
    noisy = np.clip(np.round(clean + rng.normal(0, 15, clean.shape)), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / name)
    a, b = noisy / 255.0, clean / 255.0
    expected[name] = (skm.peak_signal_noise_ratio(b, a, data_range=1.0),
                      skm.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                                use_sample_covariance=False, data_range=1.0))
  result = main_py('--mode=score', f'--input={tmp_path}', f'--reference={reference}')
  assert result.returncode == 0, result.stderr
  lines = result.stdout.strip().splitlines()
  rows = {l.split('\t')[0]: l.split('\t') for l in lines[:len(names)]}
  for name, (psnr, ssim) in expected.items():
    assert abs(float(rows[name][1].split()[1]) - psnr) < 0.01
    assert abs(float(rows[name][2].split()[1]) - ssim) < 1e-3
  summary = json.loads(lines[-1])
  assert summary['images'] == len(names)
  assert abs(summary['psnr'] - np.mean([e[0] for e in expected.values()])) < 0.01
  assert abs(summary['ssim'] - np.mean([e[1] for e in expected.values()])) < 1e-3


def _assert_one_line_error(result, *fragments):
  assert result.returncode != 0
  assert 'Traceback' not in result.stderr, result.stderr
  errors = [l for l in result.stderr.splitlines() if l.startswith('error: ')]
  assert len(errors) == 1, result.stderr
  for fragment in fragments:
    assert fragment in errors[0]


@pytest.mark.parametrize('args, fragments', [
    (['--config.model=resnet50'], ['unknown model', 'dual_skip']),
    (['--config.nmu_train_steps=5'], ['--config.nmu_train_steps', 'no field']),
    (['--config.data.train=folder:/no/such/folder'], ['/no/such/folder']),
    (['--config.data.eval=folder:/no/such/folder'], ['/no/such/folder']),
    (['--config.batch_size=12'], ['not divisible by the 8 devices']),
])
def test_bad_input_is_one_line(tmp_path, args, fragments):
  result = main_py('--config=configs/dual_skip.py:quick', f'--workdir={tmp_path}', *args)
  _assert_one_line_error(result, *fragments)


def test_bad_config_file_and_mode_are_one_line():
  _assert_one_line_error(main_py('--config=configs/nothere.py'), 'configs/nothere.py')
  _assert_one_line_error(main_py('--config=configs/dual.py:slow', '--mode=summary'), 'slow')
  _assert_one_line_error(main_py('--mode=score', '--input=/no/such'), '--reference')


def test_workdir_with_another_models_checkpoint_is_refused(tmp_path):
  train.train_and_evaluate(tiny_config('single', num_train_steps=2), str(tmp_path))
  result = main_py('--config=configs/dual_skip.py:quick', f'--workdir={tmp_path}')
  _assert_one_line_error(result, "'single'", "'dual_skip'", 'another --workdir')
