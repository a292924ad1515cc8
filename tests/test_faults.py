"""Faults a user meets: bad config values, damaged checkpoints, unwritable or odd workdirs, outputs
that overlap their inputs, interrupts, symlinked folders, oversized images. Each gives one line
(or works), and none loses a file that existed before the command."""
import errno
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from aedenoise import build, optim, validation
from aedenoise import input_pipeline
from aedenoise.errors import Interrupted, UserError
from aedenoise.input_pipeline import images as image_io
from aedenoise.restoration import degrade_files
from aedenoise.runtime import checkpoints, parallel
from aedenoise.runtime.writers import read_jsonl
from aedenoise.training import train, train_state
from conftest import ROOT, tiny_config


@pytest.mark.parametrize('field,value,message', [
    ('data.image_size', (0, 0), 'data.image_size = (0, 0): must be (height, width)'),
    ('data.image_size', (100,), 'two positive integers'),
    ('data.image_size', (-5, 100), 'two positive integers'),
    ('data.image_size', (7, 7), 'model single cannot take 7x7x1 inputs'),
    ('data.image_size', (99, 99), 'model single turns 99x99x1 inputs into 100x100x1'),
    ('data.fit', 'stretch', "data.fit = 'stretch': must be one of 'crop', 'resize'"),
    ('seed', -1, 'seed = -1: must be an integer of at least 0'),
    ('eval.crop_border', 60, 'eval.crop_border = 60: must leave pixels'),
    ('keep_checkpoints', 0, 'keep_checkpoints = 0: must be an integer of at least 1'),
    ('keep_checkpoints', -1, 'keep_checkpoints = -1'),
    ('data.num_eval', -1, 'data.num_eval = -1'),
    ('warmup_steps', -5, 'warmup_steps = -5'),
    ('data.train_split', 'train', 'the source builtin:dead_leaves has no splits'),
    ('learning_rate', float('nan'), 'learning_rate = nan: must be a finite number'),
])
def test_config_values_are_checked_before_anything_runs(field, value, message):
  with pytest.raises(UserError, match=message.replace('(', r'\(').replace(')', r'\)')) as info:
    validation.validate(tiny_config(**{field: value}))
  assert len(str(info.value).splitlines()) == 1


def test_infinite_degradation_parameters_are_refused():
  config = tiny_config()
  config.degradation.options.gaussian.sigma = (1e999, 1e999)
  with pytest.raises(UserError, match='sigma range must be finite'):
    validation.validate(config)


def _train(workdir, **overrides):
  return train.train_and_evaluate(tiny_config(**overrides), str(workdir))


def _losses(workdir):
  return {r['step']: r['loss'] for r in read_jsonl(str(workdir / 'metrics.jsonl'))
          if r['kind'] == 'train'}


def test_refused_runs_write_nothing(tmp_path):
  with pytest.raises(UserError, match='keep_checkpoints'):
    _train(tmp_path / 'a', keep_checkpoints=0)
  with pytest.raises(UserError, match='folder not found'):
    _train(tmp_path / 'b', **{'data.train': f'folder:{tmp_path / "missing"}'})
  assert not (tmp_path / 'a').exists() and not (tmp_path / 'b').exists()
  # A refused launch into an existing workdir leaves its config.json as it was.
  _train(tmp_path / 'c', num_train_steps=2)
  before = (tmp_path / 'c' / 'config.json').read_text()
  with pytest.raises(UserError, match='folder not found'):
    _train(tmp_path / 'c', **{'data.eval': f'folder:{tmp_path / "missing"}'})
  assert (tmp_path / 'c' / 'config.json').read_text() == before


def test_a_changed_config_is_kept_beside_the_first(tmp_path):
  _train(tmp_path, num_train_steps=2)
  first = (tmp_path / 'config.json').read_text()
  _train(tmp_path, num_train_steps=4, learning_rate=3e-4)  # resumes at step 2
  assert (tmp_path / 'config.json').read_text() == first
  assert '"learning_rate": 0.0003' in (tmp_path / 'config.2.json').read_text()


def _damage(step_dir, how):
  if how == 'empty':
    for root, _, files in os.walk(step_dir):
      for f in files:
        os.remove(os.path.join(root, f))
  elif how == 'meta':
    os.remove(os.path.join(step_dir, 'meta', 'metadata'))
  else:  # flip bits in, or truncate, the largest array file
    files = [os.path.join(r, f) for r, _, fs in os.walk(os.path.join(step_dir, 'model'))
             for f in fs]
    target = max(files, key=os.path.getsize)
    data = bytearray(open(target, 'rb').read())
    if how == 'flip':
      for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0xFF
    else:
      data = data[:len(data) // 3]
    open(target, 'wb').write(bytes(data))


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  """A finished 4-step run with checkpoints at steps 2 and 4, copied by each test that damages it."""
  workdir = tmp_path_factory.mktemp('finished') / 'straight'
  _train(workdir)
  return workdir


@pytest.mark.parametrize('how', ['flip', 'truncate', 'meta', 'empty'])
def test_a_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path, how, caplog,
                                                                 finished_run):
  shutil.copytree(finished_run, tmp_path / 'w')
  _damage(str(tmp_path / 'w' / 'checkpoints' / '4'), how)
  config = tiny_config()
  task = build.task(config)
  st = train_state.create_train_state(task, optim.create_optimizer(config),
                                      parallel.replicated(parallel.create_mesh()))
  ckpt = checkpoints.Checkpointer(str(tmp_path / 'w'))
  restored = ckpt.load_train_state(
      st, checkpoints.describe_state(config.model, config.optimizer, st))
  ckpt.close()
  assert int(restored.step) == 2
  assert 'checkpoint 4 in' in caplog.text and 'damaged' in caplog.text
  assert (tmp_path / 'w' / 'checkpoints' / '4.damaged').exists()  # moved aside, not deleted
  # Training again from step 2 reaches the uninterrupted run's losses.
  _train(tmp_path / 'w')
  assert _losses(tmp_path / 'w') == _losses(finished_run)


def test_checkpoints_hold_the_data_state_and_resume_without_it(tmp_path, finished_run):
  ckpt = checkpoints.Checkpointer(str(finished_run))
  saved = ckpt.load_data_state(4)
  ckpt.close()
  assert saved['step'] == 4 and saved['origin'] + saved['grain']['next_index'] == 4
  # A checkpoint from before the data state was saved resumes the data at its step.
  shutil.copytree(finished_run, tmp_path / 'w')
  shutil.rmtree(tmp_path / 'w' / 'checkpoints' / '4')
  shutil.rmtree(tmp_path / 'w' / 'checkpoints' / '2' / 'data')
  ckpt = checkpoints.Checkpointer(str(tmp_path / 'w'))
  assert ckpt.load_data_state(2) is None
  ckpt.close()
  _train(tmp_path / 'w')
  assert _losses(tmp_path / 'w') == _losses(finished_run)


def test_nan_advice_works_and_another_optimizer_is_one_line(tmp_path):
  _train(tmp_path, num_train_steps=2)
  with pytest.raises(UserError, match='set grad_clip_norm'):
    _train(tmp_path, learning_rate=1e38, max_nonfinite_steps=1)
  assert np.isfinite(_train(tmp_path, grad_clip_norm=1.0)['train']['loss'])
  with pytest.raises(UserError, match="trained with optimizer 'adam'"):
    _train(tmp_path, num_train_steps=6, optimizer='sgd')


def test_workdir_that_is_a_file_or_unwritable(tmp_path):
  (tmp_path / 'file').write_text('x')
  with pytest.raises(UserError, match='is a file, not a folder'):
    _train(tmp_path / 'file')
  assert (tmp_path / 'file').read_text() == 'x'
  if os.geteuid() != 0:  # root writes into read-only folders
    (tmp_path / 'ro').mkdir()
    os.chmod(tmp_path / 'ro', 0o555)
    with pytest.raises(UserError, match='is not writable'):
      _train(tmp_path / 'ro')


def test_a_full_disk_during_a_save_is_one_line(tmp_path, monkeypatch):
  _train(tmp_path, num_train_steps=2)

  def no_space(self, state_, meta, data=None):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
  monkeypatch.setattr(checkpoints.Checkpointer, 'save', no_space)
  with pytest.raises(UserError, match='No space left on device; the newest complete checkpoint '
                     'is step 2'):
    _train(tmp_path)


def test_outputs_may_not_overlap_their_inputs(tmp_path):
  (tmp_path / 'a' / 'sub').mkdir(parents=True)
  Image.new('L', (8, 8)).save(tmp_path / 'a' / 'sub' / 'x.png')
  spec = degrade_files.make_spec('faces_mix', None)
  for inp, out in [('a', 'a'), ('a', 'a/sub'), ('a/sub', 'a')]:
    with pytest.raises(UserError, match='must lie outside --input'):
      degrade_files.degrade_folder(str(tmp_path / inp), str(tmp_path / out), spec, 0)
  (tmp_path / 'file.png').write_bytes(b'x')
  with pytest.raises(UserError, match='is a file'):
    degrade_files.degrade_folder(str(tmp_path / 'a'), str(tmp_path / 'file.png'), spec, 0)
  assert len(os.listdir(tmp_path / 'a' / 'sub')) == 1


class _SignalAt:
  """A train iterator that sends this process `signum` when batch `at` is asked for."""

  def __init__(self, batches, at, signum):
    self.batches, self.at, self.signum, self.n = batches, at, signum, 0
    self.skipped = batches.skipped

  def __next__(self):
    self.n += 1
    if self.n == self.at:
      os.kill(os.getpid(), self.signum)
    return next(self.batches)

  def get_state(self):
    return self.batches.get_state()

  def close(self):
    self.batches.close()


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_sigterm_saves_the_step_reached_and_the_rerun_continues_exactly(tmp_path, monkeypatch,
                                                                          signum):
  _train(tmp_path / 'straight', num_train_steps=5, checkpoint_every_steps=4)
  original = input_pipeline.create_train_iterator
  monkeypatch.setattr(input_pipeline, 'create_train_iterator',
                      lambda *a, **k: _SignalAt(original(*a, **k), 3, signum))
  with pytest.raises(Interrupted, match='stopped by SIG.* at step 3') as info:
    _train(tmp_path / 'w', num_train_steps=5, checkpoint_every_steps=4)
  assert info.value.exit_code == 128 + signum
  assert checkpoints.Checkpointer(str(tmp_path / 'w')).latest_step() == 3
  monkeypatch.setattr(input_pipeline, 'create_train_iterator', original)
  _train(tmp_path / 'w', num_train_steps=5, checkpoint_every_steps=4)
  assert _losses(tmp_path / 'w') == _losses(tmp_path / 'straight')


def test_symlinked_folders_are_followed_once(tmp_path):
  (tmp_path / 'real').mkdir()
  Image.new('L', (8, 8)).save(tmp_path / 'real' / 'a.png')
  (tmp_path / 'root').mkdir()
  Image.new('L', (8, 8)).save(tmp_path / 'root' / 'b.png')
  os.symlink(tmp_path / 'real', tmp_path / 'root' / 'linked')
  os.symlink(tmp_path / 'root', tmp_path / 'root' / 'loop')  # a link back to the top
  assert image_io.list_images(str(tmp_path / 'root')) == ['b.png', os.path.join('linked', 'a.png')]


def test_images_above_the_pixel_limit_are_skipped_and_counted(tmp_path):
  Image.new('L', (40, 40)).save(tmp_path / 'big.png')
  Image.new('L', (8, 8)).save(tmp_path / 'small.png')
  with pytest.raises(image_io.ImageReadError, match=r'40x40 is more than data.max_pixels = 1,000'):
    image_io.read_image(str(tmp_path / 'big.png'), 1, max_pixels=1000)
  config = tiny_config(**{'data.eval': f'folder:{tmp_path}', 'data.max_pixels': 1000,
                          'data.image_size': (8, 8)})
  eval_set = input_pipeline.load_eval_set(config)
  assert len(eval_set) == 1 and list(eval_set.skipped) == [str(tmp_path / 'big.png')]


def test_bad_process_flags_and_config_files_are_one_line(tmp_path):
  with pytest.raises(UserError, match='--process_id in 0..1'):
    parallel.initialize_distributed('127.0.0.1:1', 2, 5)
  (tmp_path / 'broken.py').write_text('def get_config(:\n')
  (tmp_path / 'failing.py').write_text('import no_such_module\n')
  for name in ('broken.py', 'failing.py'):
    result = subprocess.run([sys.executable, 'main.py', f'--config={tmp_path / name}',
                             '--mode=summary'], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith('error: ')


def test_only_a_real_multi_process_environment_starts_jax_distributed():
  assert not parallel.multi_process_environment({'SLURM_JOB_ID': '7', 'SLURM_NTASKS': '1'})
  assert parallel.multi_process_environment({'SLURM_JOB_ID': '7', 'SLURM_NTASKS': '4'})
  assert not parallel.multi_process_environment({'TPU_WORKER_HOSTNAMES': 'localhost'})
  assert parallel.multi_process_environment({'TPU_WORKER_HOSTNAMES': 'h0,h1'})


def test_scalar_override_of_a_range_and_eval_from_the_workdirs_config(tmp_path):
  config = tiny_config(num_train_steps=2)
  config.degradation.options.gaussian.sigma = (0.1,)  # what --config...sigma=0.1 gives
  validation.validate(config)
  train.train_and_evaluate(config, str(tmp_path))
  result = subprocess.run([sys.executable, 'main.py', '--mode=eval', f'--workdir={tmp_path}'],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert '"step": 2' in result.stdout and '| gaussian | single |' in result.stdout
  # Named by step: the training's own final evaluation is still there beside it.
  assert {'builtin_skimage.json', 'builtin_skimage_step2.json'} <= set(os.listdir(tmp_path / 'eval'))
