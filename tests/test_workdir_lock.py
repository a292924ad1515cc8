"""One workdir, one writer: a second training is refused in one line naming the holder, a killed
holder frees the workdir at once, the processes of one run never refuse each other, and readers
(eval, restore) never move or delete a checkpoint a training is writing or deleting."""
import os
import shutil
import signal
import socket
import subprocess
import sys
from unittest import mock

import pytest

from aedenoise import build
from aedenoise.errors import UserError
from aedenoise.restoration import inference
from aedenoise.runtime import checkpoints, parallel, workdir_lock
from aedenoise.runtime.writers import read_jsonl
from aedenoise.training import train
from conftest import ROOT, tiny_config
from fake_gcs import fake_gcs

HOLD = ('import sys, time\n'
        'from aedenoise.runtime import workdir_lock\n'
        'workdir_lock.acquire(sys.argv[1])\n'
        'print("held", flush=True)\n'
        'time.sleep(600)\n')


@pytest.fixture
def holder(tmp_path):
  """Another process holding the lock of tmp_path/w, as a training does."""
  workdir = tmp_path / 'w'
  workdir.mkdir()
  proc = subprocess.Popen([sys.executable, '-c', HOLD, str(workdir)], cwd=ROOT,
                          stdout=subprocess.PIPE, text=True)
  assert proc.stdout.readline().strip() == 'held'
  yield workdir, proc
  proc.kill()
  proc.wait()


def test_a_second_training_is_refused_and_a_killed_holder_frees_the_workdir(holder):
  workdir, proc = holder
  with pytest.raises(workdir_lock.WorkdirBusy) as info:
    train.train_and_evaluate(tiny_config(), str(workdir))
  message = str(info.value)
  assert f'pid {proc.pid} on host {socket.gethostname()}' in message
  assert len(message.splitlines()) == 1
  assert os.listdir(workdir) == ['train.lock']  # the refused run wrote nothing

  result = subprocess.run([sys.executable, 'main.py', '--config=configs/dual_skip.py:quick',
                           f'--workdir={workdir}'], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
  errors = [l for l in result.stderr.splitlines() if l.startswith('error: ')]
  assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr[-3000:]
  assert len(errors) == 1 and f'pid {proc.pid}' in errors[0], result.stderr[-3000:]

  proc.send_signal(signal.SIGKILL)
  proc.wait()
  train.train_and_evaluate(tiny_config(), str(workdir))  # at once: the kernel dropped the lock
  steps = [r['step'] for r in read_jsonl(str(workdir / 'metrics.jsonl')) if r['kind'] == 'train']
  assert steps == [1, 2, 3, 4]
  assert not (workdir / 'train.lock').exists()  # a finished run takes its lock file away


def test_the_lock_is_per_workdir_and_released(tmp_path):
  (tmp_path / 'a').mkdir()
  (tmp_path / 'b').mkdir()
  with workdir_lock.acquire(str(tmp_path / 'a')):
    with pytest.raises(workdir_lock.WorkdirBusy, match=f'pid {os.getpid()}'):
      workdir_lock.acquire(str(tmp_path / 'a'))
    workdir_lock.acquire(str(tmp_path / 'b')).release()
  workdir_lock.acquire(str(tmp_path / 'a')).release()
  assert os.listdir(tmp_path / 'a') == []


def test_only_process_0_of_a_run_takes_the_lock(holder, monkeypatch):
  workdir, _ = holder
  monkeypatch.setattr(workdir_lock.jax, 'process_index', lambda: 1)
  lock = workdir_lock.acquire(str(workdir))  # another process of the holder's run: no refusal
  assert lock.fd is None
  monkeypatch.setattr(workdir_lock.jax, 'process_index', lambda: 0)
  monkeypatch.setattr(workdir_lock.jax, 'process_count', lambda: 2)
  monkeypatch.setattr(parallel, 'agree', lambda value: value)  # process 0's answer, broadcast
  with pytest.raises(workdir_lock.WorkdirBusy, match='is in use by pid'):
    workdir_lock.acquire(str(workdir))
  monkeypatch.setattr(workdir_lock.jax, 'process_index', lambda: 1)
  monkeypatch.setattr(parallel, 'agree', lambda value: 1)  # process 0 was refused
  with pytest.raises(workdir_lock.WorkdirBusy, match=r'another run \(process 0 names it\)'):
    workdir_lock.acquire(str(workdir))


@pytest.mark.filterwarnings('ignore:os.fork:RuntimeWarning')  # the child makes no JAX call
def test_a_forked_child_does_not_keep_the_lock(tmp_path):
  lock = workdir_lock.acquire(str(tmp_path))
  pid = os.fork()
  if pid == 0:  # the child: its copy of the lock's descriptor must be closed
    try:
      os.fstat(lock.fd)
      os._exit(1)
    except OSError:
      os._exit(0)
  _, status = os.waitpid(pid, 0)
  assert os.waitstatus_to_exitcode(status) == 0
  lock.release()


def test_a_url_workdir_warns_that_it_cannot_be_locked(tmp_path, caplog):
  with fake_gcs(str(tmp_path)):
    lock = workdir_lock.acquire('gs://bucket/run')
  assert lock.fd is None
  assert 'gs://bucket/run is not a local folder, where no lock can be taken' in caplog.text


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('finished') / 'run'
  train.train_and_evaluate(tiny_config(), str(workdir))
  return workdir


def _load(workdir):
  config = tiny_config()
  return inference.load_model(build.task(config), str(workdir), parallel.create_mesh())


def test_readers_leave_a_damaged_checkpoint_in_place(tmp_path, finished_run, caplog):
  shutil.copytree(finished_run, tmp_path / 'w')
  os.remove(tmp_path / 'w' / 'checkpoints' / '4' / 'meta' / 'metadata')
  assert _load(tmp_path / 'w').step == 2
  assert sorted(os.listdir(tmp_path / 'w' / 'checkpoints')) == ['2', '4']
  assert 'checkpoint 4 in' in caplog.text and '(left in place)' in caplog.text


def test_a_step_deleted_while_a_reader_reads_it_is_skipped_not_moved(tmp_path, finished_run,
                                                                      caplog):
  """What a running training does to its oldest checkpoint (keep_checkpoints) meanwhile."""
  shutil.copytree(finished_run, tmp_path / 'w')
  original = checkpoints.Checkpointer._load_item

  def deleted_meanwhile(self, step, meta, name, abstract):
    if step == 4:
      shutil.rmtree(self.directory / '4')
      raise checkpoints.DamagedCheckpoint('its model arrays do not load (FileNotFoundError)')
    return original(self, step, meta, name, abstract)
  with mock.patch.object(checkpoints.Checkpointer, '_load_item', deleted_meanwhile):
    assert _load(tmp_path / 'w').step == 2
  assert os.listdir(tmp_path / 'w' / 'checkpoints') == ['2']
  assert 'damaged' not in caplog.text


def test_a_reader_creates_nothing_in_a_missing_workdir(tmp_path):
  with pytest.raises(UserError, match=r'no checkpoint in .*nothing/checkpoints; train first'):
    _load(tmp_path / 'nothing')
  assert not (tmp_path / 'nothing').exists()
