"""Cause: an output written where it is not this mode's to write. A mode never replaces a file it
did not make (restore, degrade, package, export), never writes into a training workdir (its own
or another's), and two writers racing for one output leave one whole result and one refusal."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from aedenoise.errors import UserError
from aedenoise.evaluation import scoring
from aedenoise.metrics import Convention
from aedenoise.restoration import degrade_files, export, package, restore
from aedenoise.runtime import workdir as workdir_lib
from conftest import ROOT

FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'legacy_workdirs')


def _snapshot(folder):
  return {os.path.join(d, f): open(os.path.join(d, f), 'rb').read()
          for d, _, files in os.walk(folder) for f in files}


@pytest.fixture
def workdir(tmp_path):
  path = tmp_path / 'w'
  shutil.copytree(os.path.join(FIXTURES, 'cifar_model_b_small'), path)
  return str(path)


@pytest.fixture
def photos(tmp_path):
  folder = tmp_path / 'in'
  folder.mkdir()
  Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(folder / 'a.png')
  return str(folder)


def test_restore_never_replaces_a_file_it_did_not_write(workdir, photos, tmp_path):
  config = workdir_lib.load_config(workdir)
  mine = tmp_path / 'x.png'
  mine.write_text('the user\'s notes, named like an image')
  with pytest.raises(UserError, match='not finished outputs of these inputs') as e:
    restore.restore_folder(config, workdir, os.path.join(photos, 'a.png'), str(mine))
  assert '\n' not in str(e.value) and mine.read_text().startswith('the user')
  out = tmp_path / 'out'
  out.mkdir()
  (out / 'a.png').write_text('not an image')  # in a folder: the same rule
  with pytest.raises(UserError, match='--overwrite'):
    restore.restore_folder(config, workdir, photos, str(out))
  assert (out / 'a.png').read_text() == 'not an image'
  restore.restore_folder(config, workdir, photos, str(out), overwrite=True)  # asked for: replaced
  assert Image.open(out / 'a.png').size == (16, 16)
  result = restore.restore_folder(config, workdir, photos, str(out))  # its own output: kept
  assert result['written'] == 0 and result['kept'] == 1


def test_no_mode_writes_into_a_training_workdir(workdir, photos, tmp_path):
  config = workdir_lib.load_config(workdir)
  other = str(tmp_path / 'other')
  shutil.copytree(workdir, other)
  before = _snapshot(workdir), _snapshot(other)
  spec = degrade_files.make_spec('gaussian_s25', None)
  for output in (workdir, os.path.join(workdir, 'noisy'), other):
    with pytest.raises(UserError, match='training workdir'):
      degrade_files.degrade_folder(photos, output, spec, 0)
    with pytest.raises(UserError, match='training workdir|inside --workdir'):
      restore.restore_folder(config, workdir, photos, output)
  with pytest.raises(UserError, match='training workdir'):
    export.export_workdir(config, workdir, os.path.join(other, 'model.jax'))
  with pytest.raises(UserError, match='lies inside a training workdir'):
    package.package(config, workdir, os.path.join(other, 'shipped'))
  with pytest.raises(UserError, match='already holds checkpoints'):
    package.package(config, workdir, other)
  assert (_snapshot(workdir), _snapshot(other)) == before


def test_package_refuses_a_folder_of_the_users_files(workdir, tmp_path):
  config = workdir_lib.load_config(workdir)
  folder = tmp_path / 'mine'
  folder.mkdir()
  (folder / 'notes.txt').write_text('mine')
  with pytest.raises(UserError, match=r'holds files \(notes.txt\); package into a new or empty'):
    package.package(config, workdir, str(folder))
  assert os.listdir(folder) == ['notes.txt']
  (tmp_path / 'file').write_text('mine')
  with pytest.raises(UserError, match='is a file'):
    package.package(config, workdir, str(tmp_path / 'file'))


def test_two_packages_racing_into_one_folder_leave_one_whole_package(workdir, tmp_path):
  output = str(tmp_path / 'shared')
  command = [sys.executable, os.path.join(ROOT, 'main.py'), '--mode=package',
             f'--workdir={workdir}', f'--output={output}']
  runs = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True) for _ in range(2)]
  results = [(r.wait(timeout=300), *r.communicate()) for r in runs]
  codes = sorted(code for code, _, _ in results)
  assert codes == [0, 2], results
  refused = next(err for code, _, err in results if code == 2)
  errors = [line for line in refused.splitlines() if line.startswith('error:')]
  assert len(errors) == 1 and 'Traceback' not in refused, refused
  shipped = workdir_lib.load_config(output)
  assert shipped.model == workdir_lib.load_config(workdir).model
  assert sorted(os.listdir(output)) == ['checkpoints', 'config.json']
  assert not [n for n in os.listdir(tmp_path) if n.endswith('package-tmp')]


def test_score_names_a_file_given_for_a_folder(photos):
  with pytest.raises(UserError, match='--input .* is not a folder; score compares two folders'):
    scoring.score_folders(os.path.join(photos, 'a.png'), photos, Convention())
