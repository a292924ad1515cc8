"""Workdirs and outputs at a URL (gs://bucket/...): train, resume, a damaged checkpoint set aside,
eval and restore, all in one process against tests/fake_gcs.py; and the one-line refusals."""
import json
import os
from unittest import mock

import numpy as np
import pytest
from etils import epath
from PIL import Image

from aedenoise.errors import UserError
from aedenoise.evaluation import evaluate_checkpoint
from aedenoise.restoration import degrade_files, restore
from aedenoise.runtime import checkpoints, paths, writers
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.training import train
from conftest import tiny_config
from fake_gcs import fake_gcs
from image_files import smooth_image

RUN = 'gs://bucket/run'


@pytest.fixture
def bucket(tmp_path, monkeypatch):
  """The fake bucket's local folder; the test runs in an empty current directory, which must stay
  empty: whatever bypassed epath would have made a `gs:` folder there."""
  cwd = tmp_path / 'cwd'
  cwd.mkdir()
  monkeypatch.chdir(cwd)
  with fake_gcs(str(tmp_path / 'bucket_root')), \
       mock.patch.object(checkpoints, '_check_gcs_client', lambda directory: None):
    yield tmp_path / 'bucket_root' / 'bucket'
  assert not os.listdir(cwd)


def _train_losses(metrics_path) -> list[float]:
  return [r['loss'] for r in writers.read_jsonl(metrics_path) if r['kind'] == 'train']


def test_train_resume_eval_and_restore_in_a_bucket(bucket, tmp_path):
  train.train_and_evaluate(tiny_config(num_train_steps=2), RUN)
  resumed = train.train_and_evaluate(tiny_config(), RUN)
  straight = train.train_and_evaluate(tiny_config(), str(tmp_path / 'local'))
  assert _train_losses(f'{RUN}/metrics.jsonl') == _train_losses(tmp_path / 'local/metrics.jsonl')
  assert resumed['eval'] == straight['eval']
  run = bucket / 'run'
  assert sorted(os.listdir(run / 'checkpoints')) == ['2', '4']
  assert sorted(os.listdir(run / 'eval')) == sorted(os.listdir(tmp_path / 'local' / 'eval'))
  assert (run / 'curves.png').read_bytes().startswith(b'\x89PNG')
  events = [p for p in (run / 'tensorboard').iterdir()]
  assert len(events) == 2 and all(b'train/loss' in p.read_bytes() for p in events)  # one per run
  assert workdir_lib.load_config(RUN).num_train_steps == 4  # config.json, as --mode=eval reads it

  # The newest checkpoint, damaged in the bucket: eval, a reader, uses the previous and leaves it
  # there; the next training moves it aside.
  (run / 'checkpoints' / '4' / 'meta' / 'metadata').unlink()
  records = evaluate_checkpoint.run(tiny_config(), RUN)
  assert json.loads(epath.Path(f'{RUN}/eval/builtin_skimage_step2.json').read_text()) == records
  assert (run / 'checkpoints' / '4').is_dir()
  train.train_and_evaluate(tiny_config(), RUN)
  assert epath.Path(f'{RUN}/checkpoints/4.damaged').is_dir()

  src = tmp_path / 'in'
  src.mkdir()
  Image.fromarray(smooth_image(0, 37, 53)[..., 0]).save(src / 'a.png')
  result = restore.restore_folder(tiny_config(), RUN, str(src), 'gs://bucket/restored', tile=100,
                                  overlap=20)
  assert result['written'] == 1
  with epath.Path('gs://bucket/restored/a.png').open('rb') as f:
    assert np.asarray(Image.open(f)).shape == (37, 53)


def test_degrade_writes_into_a_bucket(bucket, tmp_path):
  src = tmp_path / 'in'
  (src / 'sub').mkdir(parents=True)
  Image.fromarray(smooth_image(1, 20, 30, 3)).save(src / 'sub' / 'b.jpg')
  spec = degrade_files.make_spec('gaussian', 'sigma=0.1')
  assert degrade_files.degrade_folder(str(src), 'gs://bucket/noisy', spec, seed=0)['written'] == 1
  assert Image.open(bucket / 'noisy' / 'sub' / 'b.png').size == (30, 20)


def test_inputs_at_a_url_are_refused_in_one_line(bucket):
  with pytest.raises(UserError, match='read from the local filesystem'):
    degrade_files.degrade_folder('gs://bucket/in', 'gs://bucket/out', {'kind': 'gaussian'}, 0)


def test_an_unknown_scheme_is_refused_instead_of_made_a_local_folder(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  with pytest.raises(UserError, match=r'unsupported scheme memory://'):
    train.train_and_evaluate(tiny_config(), 'memory://run')
  with pytest.raises(UserError, match=r'unsupported scheme'):
    workdir_lib.check_writable('ftp://host/run')
  assert not os.listdir(tmp_path)


def test_gcs_checkpoints_without_google_cloud_storage_fail_in_one_line(tmp_path):
  try:
    import google.cloud.storage  # pylint: disable=g-import-not-at-top,unused-import
    pytest.skip('google-cloud-storage is installed')
  except ImportError:
    pass
  with fake_gcs(str(tmp_path)), pytest.raises(UserError, match='pip install google-cloud-storage'):
    checkpoints.Checkpointer(RUN)


def test_local_paths_stay_plain_and_absolute(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert paths.is_local('run') and not paths.is_local(RUN)
  assert str(paths.absolute('run')) == str(tmp_path / 'run')
  assert str(paths.absolute(RUN)) == RUN  # epath's resolve() would give <cwd>/gs:/bucket/run
