"""Classic baselines: each one denoises, the noise level is given or estimated (and said so), the
results are cached and identical across worker counts, and the evaluation table gains their rows
only when configured."""
import numpy as np
import pytest

from conftest import tiny_config

from aedenoise import build
from aedenoise import input_pipeline
from aedenoise.errors import UserError
from aedenoise.evaluation import baseline_runner, baselines, evaluate
from aedenoise.runtime import parallel
SIGMA = 25 / 255


def _noisy(shape=(48, 40, 1), seed=0):
  from skimage import data  # pylint: disable=g-import-not-at-top
  clean = data.camera()[200:200 + shape[0], 200:200 + shape[1]].astype(np.float32) / 255
  clean = np.repeat(clean[..., None], shape[-1], axis=-1)
  noise = np.random.default_rng(seed).normal(0, SIGMA, clean.shape).astype(np.float32)
  return clean, clean + noise


@pytest.mark.parametrize('method', list(baselines.METHODS))
@pytest.mark.parametrize('channels', [1, 3])
def test_every_method_removes_noise(method, channels):
  clean, noisy = _noisy((48, 40, channels))
  out = baselines.denoise(method, noisy, SIGMA)
  assert out.shape == noisy.shape and out.dtype == np.float32
  assert np.mean((out - clean) ** 2) < np.mean((np.clip(noisy, 0, 1) - clean) ** 2)


def test_estimated_sigma_is_close_and_labelled():
  _, noisy = _noisy((96, 96, 1))
  assert abs(baselines.estimate_sigma(noisy) - SIGMA) < 0.3 * SIGMA
  assert baselines.method_label('bm3d', True) == 'bm3d-est'


def test_unknown_method_is_a_user_error():
  with pytest.raises(UserError, match='unknown baseline.*nope'):
    baselines.parse('bm3d,nope')
  assert baselines.parse('all') == list(baselines.METHODS)


def test_cache_is_reused_and_workers_do_not_change_results(tmp_path):
  jobs = [baseline_runner.Job(m, _noisy(seed=s)[1], SIGMA if s else None)
          for m in ('tv', 'nlm') for s in range(3)]
  first = baseline_runner.run(jobs, str(tmp_path), workers=2)
  again = baseline_runner.run(jobs, str(tmp_path), workers=1)
  assert not any(r.cached for r in first) and all(r.cached for r in again)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a.image, b.image)
  fresh = baseline_runner.run(jobs[:1], str(tmp_path / 'other'), workers=1)
  np.testing.assert_allclose(fresh[0].image, first[0].image, atol=1e-5)


@pytest.mark.parametrize('degradation,expected', [
    ({'kind': 'gaussian', 'sigma': 0.1}, ['median', 'tv']),
    ({'kind': 'gaussian', 'sigma': (0.05, 0.1)}, ['median-est', 'tv-est']),
])
def test_evaluation_table_gains_rows_only_when_configured(tmp_path, degradation, expected):
  rows = {}
  for names in ('', 'median,tv'):
    config = tiny_config('single', **{'eval.baselines': names,
                                      'eval.baseline_cache': str(tmp_path)})
    config.degradation = degradation
    task = build.task(config)
    evaluator = evaluate.Evaluator(task, parallel.create_mesh())
    records, _ = evaluator.run(task.init_variables(),
                               input_pipeline.load_eval_set(config))
    rows[names] = [r['method'] for r in records]
  assert rows[''] == ['input', 'single']
  assert rows['median,tv'] == ['input', *expected, 'single']
  assert evaluate.given_sigma({'kind': 'gaussian', 'var': 0.04}) == pytest.approx(0.2)
