"""Cause: a disk that fills while a mode writes. Each is one line naming the file; what was
finished before stays, nothing half-written is left, and the same command then completes."""
import errno
import os
import shutil

import pytest

from aedenoise.errors import UserError
from aedenoise.restoration import package
from aedenoise.runtime import checkpoints, paths
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.studies import runner
from conftest import ROOT
from test_study import _Tiny

FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'legacy_workdirs')


def _full(*args, **kwargs):
  raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), 'the-file')


def test_package_on_a_full_disk_leaves_nothing_and_runs_again(tmp_path, monkeypatch):
  workdir = str(tmp_path / 'w')
  shutil.copytree(os.path.join(FIXTURES, 'cifar_model_b_small'), workdir)
  config = workdir_lib.load_config(workdir)
  output = tmp_path / 'shipped'
  with monkeypatch.context() as m:
    m.setattr(checkpoints.Checkpointer, 'save_inference', _full)
    with pytest.raises(UserError, match='No space left on device; nothing was packaged') as e:
      package.package(config, workdir, str(output))
  assert '\n' not in str(e.value)
  assert not output.exists() and os.listdir(tmp_path) == ['w']  # no temporary folder left
  package.package(config, workdir, str(output))
  assert workdir_lib.load_config(str(output)).model == config.model


def test_a_study_on_a_full_disk_keeps_its_runs_and_writes_again(tmp_path, monkeypatch):
  root = str(tmp_path / 'study')
  write_text = paths.write_text

  def full_for(name):
    def write(path, text):
      if str(path).endswith(name):
        _full()
      return write_text(path, text)
    return write
  with monkeypatch.context() as m:  # the first run's scores cannot be written
    m.setattr(paths, 'write_text', full_for('study_scores.json'))
    with pytest.raises(UserError, match="No space left on device; the run's checkpoint is kept"):
      runner.run_study(_Tiny(), root, 'smoke', '')
  assert os.path.isdir(os.path.join(root, 'run_a', 'checkpoints'))
  with monkeypatch.context() as m:  # the reports cannot be written
    m.setattr(paths, 'write_text', full_for('study.md'))
    with pytest.raises(UserError, match='No space left on device; every run is kept'):
      runner.run_study(_Tiny(), root, 'smoke', '')
  rows = runner.run_study(_Tiny(), root, 'smoke', '')  # room again: nothing trains twice
  assert rows and os.path.exists(os.path.join(root, 'study.md'))
