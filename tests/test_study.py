"""The study runner: every run trained and scored into its own workdir, finished runs skipped, the
report beside the paper's numbers; bad input in one line."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from aedenoise import build
from aedenoise.errors import UserError
from aedenoise.input_pipeline import images as image_io
from aedenoise.studies import STUDIES, claims, definition, dual_autoencoders
from aedenoise.studies import runner as study
from aedenoise.studies.definition import Paper, Run
from conftest import ROOT, tiny_config


class _Tiny(definition.Study):
  """Two tiny runs of the single autoencoder, scored on the built-in photos."""
  name = 'tiny'
  title = 'a tiny study'
  paper = (Paper('a', 'gaussian', 'psnr', 20.0), Paper('b', 'gaussian', 'psnr', 30.0),
           Paper('c', 'gaussian', 'psnr', 40.0))  # c never runs: its value stays empty

  def runs(self, budget, data_dir):
    config = tiny_config('single', num_train_steps=2,
                         degradation={'kind': 'gaussian', 'sigma': 0.1})
    return [Run('run_a', 'a', config), Run('run_b', 'b', config, seed=1)]

  def score(self, run, workdir):
    records, _ = definition.evaluate_on(run.config, workdir, 'builtin:skimage', 'all', 4)
    return definition.model_rows(records, build.model_label(run.config), run.model)

  def claims(self):
    return (claims.above('a restores better than b', [(('a', 'gaussian', 'psnr'),
                                                               ('b', 'gaussian', 'psnr'))]),
            claims.above('c beats a', [(('c', 'gaussian', 'psnr'), ('a', 'gaussian', 'psnr'))]))


def test_a_study_trains_scores_reports_and_skips_finished_runs(tmp_path, caplog):
  root = str(tmp_path / 'w')
  rows = study.run_study(_Tiny(), root, 'smoke', '')
  by_model = {(r['model'], r['metric']): r for r in rows}
  assert by_model[('a', 'psnr')]['paper'] == 20.0 and by_model[('a', 'psnr')]['value'] > 10
  assert by_model[('c', 'psnr')]['value'] is None  # a paper number without a run
  assert by_model[('a', 'ssim')]['paper'] is None  # a number the paper lacks
  saved = json.loads((tmp_path / 'w' / 'study.json').read_text())
  assert saved == json.loads(json.dumps(rows))
  assert {'study', 'model', 'row', 'metric', 'value', 'paper'} <= set(saved[0])
  table = (tmp_path / 'w' / 'study.md').read_text()
  assert '| a | gaussian | 20.00 |' in table
  decided = json.loads((tmp_path / 'w' / 'claims.json').read_text())
  assert [c['holds'] for c in decided][1] is None  # c never ran: the records cannot decide
  assert decided[0]['holds'] in (True, False) and set(decided[0]['evidence']) == {
      'a | gaussian | psnr', 'b | gaussian | psnr'}
  assert '## Claims' in table and '| c beats a | cannot be decided |' in table
  for run in ('run_a', 'run_b'):
    assert os.path.exists(os.path.join(root, run, 'checkpoints'))  # an ordinary workdir
  # Again: both runs are finished, so only the reports are rewritten, with the same numbers.
  caplog.clear()
  assert study.run_study(_Tiny(), root, 'smoke', '') == rows
  assert 'run 1 of 2' not in caplog.text
  with pytest.raises(UserError, match="holds study 'tiny' at budget 'smoke', not 'tiny' at "
                     "'reduced'"):
    study.run_study(_Tiny(), root, 'reduced', '')


def test_the_dual_autoencoder_study_runs_end_to_end_on_faces(tmp_path, monkeypatch):
  """The smoke budget on a folder of 40 synthetic 'faces' standing in for utkface_faces, with two
  of the six models (the whole study's smoke run is measured in docs/STUDIES.md)."""
  monkeypatch.setattr(dual_autoencoders, 'MODELS', ('single', 'dual_skip'))
  faces = tmp_path / 'data' / 'utkface_faces'
  faces.mkdir(parents=True)
  rng = np.random.default_rng(0)
  for i in range(40):
    image_io.write_image(faces / f'{i:03d}.jpg', rng.random((1, 1, 3)) * np.ones((120, 120, 3)))
  root = str(tmp_path / 'w')
  rows = study.run_study(STUDIES['dual_autoencoders'], root, 'smoke', str(tmp_path / 'data'))
  published = [r for r in rows if r['paper'] is not None]
  assert len(published) == 48  # 6 models x 4 noises x PSNR, SSIM
  ran = [r for r in published if r['model'] in ('single', 'dual_skip')]
  assert len(ran) == 16 and all(r['value'] is not None for r in ran)
  assert {r['row'] for r in ran} == {'gaussian', 'impulse', 'speckle', 'poisson'}
  for name in ('study.md', 'study.csv', 'curves.png', 'samples_gaussian.png'):
    assert os.path.exists(os.path.join(root, name)), name
  decided = json.loads(open(os.path.join(root, 'claims.json')).read())
  # The first claim compares the models that ran (decided); the others need the missing four.
  assert len(decided) == 4 and decided[0]['holds'] in (True, False)
  assert all(c['holds'] is None for c in decided[1:])
  assert set(decided[0]['evidence']) == {f'{m} | {n} | psnr' for m in ('single', 'dual_skip')
                                         for n in ('impulse', 'speckle', 'poisson')}


def _study(*args, cwd=ROOT):
  return subprocess.run([sys.executable, '-m', 'aedenoise.study', *args], cwd=cwd,
                        capture_output=True, text=True, timeout=300)


def test_the_study_list_and_bad_input_in_one_line(tmp_path):
  listed = _study('--list')
  assert listed.returncode == 0 and listed.stdout.split() == list(STUDIES)
  for args, fragment in ((['nosuch', f'--workdir={tmp_path}'], "unknown study 'nosuch'"),
                         (['dual_autoencoders', f'--workdir={tmp_path}', '--budget=huge'],
                          'budget'),
                         (['dual_autoencoders', f'--workdir={tmp_path}',
                           f'--data_dir={tmp_path / "none"}'], 'utkface_faces')):
    result = _study(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error:') and fragment in lines[0], lines


def test_the_time_left_counts_imported_and_trained_runs_apart():
  def run(steps, weights=''):
    config = tiny_config()
    config.num_train_steps = steps
    return Run(f'r{steps}{weights}', 'm', config, weights=weights)

  imported, trained = run(1, 'a.pt'), run(100)
  # an import that took long (a classifier trained on the way) says nothing of training's pace
  took = [(imported, 600.0)]
  assert study.estimate_left(took, [run(1, 'b.pt'), run(100)]) is None
  took.append((trained, 50.0))
  assert study.estimate_left(took, [run(1, 'b.pt'), run(300)]) == pytest.approx(600.0 + 150.0)
  assert study.estimate_left(took, []) == 0.0


def test_claims_hold_fail_or_cannot_be_decided_on_the_records():
  rows = [{'model': m, 'row': 'r', 'metric': 'psnr', 'value': v}
          for m, v in (('a', 30.0), ('b', 28.0), ('c', 28.0))]
  decide = lambda claim: claim.evaluate(rows)[0]
  assert decide(claims.above('a > b', [(('a', 'r', 'psnr'), ('b', 'r', 'psnr'))])) is True
  assert decide(claims.above('b > a', [(('b', 'r', 'psnr'), ('a', 'r', 'psnr'))])) is False
  assert decide(claims.above('x > a', [(('x', 'r', 'psnr'), ('a', 'r', 'psnr'))])) is None
  # One failing part decides against the claim even where another part cannot be decided.
  assert decide(claims.above('both', [(('x', 'r', 'psnr'), ('a', 'r', 'psnr')),
                                      (('b', 'r', 'psnr'), ('a', 'r', 'psnr'))])) is False
  assert decide(claims.best('a best', 'a', ('a', 'b', 'c'), ('r',), 'psnr')) is True
  assert decide(claims.rising('b <= c < a', [('b', 'r', 'psnr'), ('c', 'r', 'psnr'),
                                             ('a', 'r', 'psnr')], strict=(False, True))) is True
  assert decide(claims.rising('b < c', [('b', 'r', 'psnr'), ('c', 'r', 'psnr')])) is False
  assert decide(claims.mean_above('a over b, c', [('a', 'r', 'psnr')],
                                  [('b', 'r', 'psnr'), ('c', 'r', 'psnr')])) is True
  holds, evidence = claims.above('a > b', [(('a', 'r', 'psnr'), ('b', 'r', 'psnr'))]).evaluate(rows)
  assert evidence == {'a | r | psnr': 30.0, 'b | r | psnr': 28.0}


@pytest.mark.parametrize('name,least', [('dual_autoencoders', 3), ('mnist_grid', 3),
                                        ('image_quality', 3), ('cifar_autoencoders', 2),
                                        ('sidd_linear_ae', 1)])
def test_every_study_states_its_papers_claims(name, least):
  stated = STUDIES[name].claims()
  assert len(stated) >= least and len({c.text for c in stated}) == len(stated)
