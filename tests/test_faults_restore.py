"""--mode=restore (and degrade) under faults: links between input and output, names taken, folders
that cannot be written or are full, bad tiles and degradations, signals, kills and reruns. Each
ends with one line (or works), leaves no partial file and loses no file that existed before."""
import errno
import os
import signal
import subprocess
import sys
import types

import numpy as np
import pytest
from PIL import Image

from aedenoise.commands import cli
from aedenoise.errors import Interrupted, UserError
from aedenoise.evaluation import evaluate
from aedenoise.restoration import degrade_files, inference, outputs, restore
from aedenoise.runtime import paths
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.training import train
from conftest import ROOT, tiny_config
from image_files import smooth_image


def _config():
  return tiny_config('single', num_train_steps=2)


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  path = tmp_path_factory.mktemp('trained') / 'w'
  train.train_and_evaluate(_config(), str(path))
  return str(path)


def _images(folder, names, size=(37, 53)):
  for i, name in enumerate(names):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(smooth_image(i, *size)[..., 0]).save(path)


def _restore(workdir, src, dst, **kwargs):
  return restore.restore_folder(_config(), workdir, str(src), str(dst), **kwargs)


@pytest.fixture
def no_model(monkeypatch):
  """Fails a test whose restore reads the checkpoint: the refusal must come before."""
  def load_model(*args):
    raise AssertionError('the model was loaded before the refusal')
  monkeypatch.setattr(inference, 'load_model', load_model)


def _snapshot(folder):
  return {os.path.join(d, f): open(os.path.join(d, f), 'rb').read()
          for d, _, fs in os.walk(folder) for f in fs}


def test_an_input_linked_into_the_output_is_never_overwritten(tmp_path, no_model):
  """S/A/L links to S/C/L: restoring S/A into S/C would write S/C/L/x.png over itself."""
  s = tmp_path / 'S'
  _images(s / 'C' / 'L', ['x.png'])
  (s / 'A').mkdir()
  os.symlink(s / 'C' / 'L', s / 'A' / 'L')
  before = _snapshot(s / 'C')
  with pytest.raises(UserError, match=r'1 input\(s\) lie inside --output .* through symbolic links'
                     r'.*A/L/x.png is .*C/L/x.png'):
    _restore('unused', s / 'A', s / 'C')
  spec = degrade_files.make_spec('gaussian', 'sigma=0.1')
  with pytest.raises(UserError, match=r'through symbolic links'):
    degrade_files.degrade_folder(str(s / 'A'), str(s / 'C'), spec, 0)
  assert _snapshot(s / 'C') == before


def test_an_output_linked_into_the_input_is_refused(tmp_path, no_model):
  _images(tmp_path / 'in' / 'sub', ['x.png'])
  (tmp_path / 'out').mkdir()
  os.symlink(tmp_path / 'in' / 'sub', tmp_path / 'out' / 'sub')
  before = _snapshot(tmp_path / 'in')
  with pytest.raises(UserError, match=r'1 output\(s\) lead into the input folder through symbolic'):
    _restore('unused', tmp_path / 'in', tmp_path / 'out')
  assert _snapshot(tmp_path / 'in') == before


def test_output_names_taken_by_a_folder_or_a_file_are_refused(tmp_path, no_model):
  _images(tmp_path / 'in', ['x.png', 'sub/y.png'])
  (tmp_path / 'out' / 'x.png').mkdir(parents=True)
  (tmp_path / 'out' / 'sub').write_text('a file')
  with pytest.raises(UserError) as info:
    _restore('unused', tmp_path / 'in', tmp_path / 'out')
  assert str(info.value).startswith('2 output name(s) are taken: ')
  assert f'{tmp_path}/out/x.png is a folder' in str(info.value)
  assert f'{tmp_path}/out/sub is a file, so' in str(info.value)
  assert (tmp_path / 'out' / 'sub').read_text() == 'a file'


def test_an_unwritable_output_is_refused_before_the_model_loads(tmp_path, no_model):
  _images(tmp_path / 'in', ['x.png'])
  if os.geteuid() == 0:  # root writes into read-only folders; /proc is read-only even to root
    target = '/proc/self/aedenoise-out'
  else:
    (tmp_path / 'ro').mkdir()
    os.chmod(tmp_path / 'ro', 0o555)
    target = str(tmp_path / 'ro' / 'out')
  with pytest.raises(UserError, match=r'--output .* is not writable'):
    _restore('unused', tmp_path / 'in', target)
  assert not os.path.exists(target)


def test_no_room_for_one_image_is_refused_before_the_model_loads(tmp_path, no_model, monkeypatch):
  _images(tmp_path / 'in', ['x.png'], size=(60, 80))
  monkeypatch.setattr(outputs.shutil, 'disk_usage', lambda path: mock_usage(free=1000))
  with pytest.raises(UserError, match=r'has 0.0 MiB free, less than one output image needs '
                     r'\(x.png: up to 0.0 MiB uncompressed\)'):
    _restore('unused', tmp_path / 'in', tmp_path / 'out')
  assert not (tmp_path / 'out').exists()  # the refused run leaves no folder behind


def mock_usage(free):
  return type('Usage', (), {'total': free, 'used': 0, 'free': free})()


@pytest.mark.parametrize('kwargs, message', [
    ({'tile': -3}, r"--tile=-3: must be 0 \(the model's default\) or a side in pixels"),
    ({'tile': 2}, r'--tile=2: the model cannot take 4x4 tiles; the smallest it takes is \d+'),
    ({'overlap': -5}, r'--tile_overlap=-5: must be -1'),
    ({'tile': 64, 'overlap': 64}, r'--tile_overlap=64: tiles of 64x64 can share at most 60 '
                                  r'pixels \(they start at multiples of 4\)'),
    ({'spec': degrade_files.make_spec('sr_x4', None)},
     r"--degradation=sr_x4 turns 100x100 images into 25x25, and model single does not enlarge: "
     r"its outputs would be 25x25, not the input's 100x100"),
])
def test_tiles_and_degradations_are_checked_against_the_model_first(tmp_path, no_model, kwargs,
                                                                    message):
  _images(tmp_path / 'in', ['x.png'])
  name = '--degradation=sr_x4' if 'spec' in kwargs else 'the degradation'
  with pytest.raises(UserError, match=message):
    _restore('unused', tmp_path / 'in', tmp_path / 'out', degradation=name, **kwargs)
  assert not (tmp_path / 'out').exists()


def test_a_missing_workdir_is_one_line_and_nothing_is_left_behind(tmp_path):
  _images(tmp_path / 'in', ['x.png'])
  with pytest.raises(UserError, match=r'no checkpoint in .*/nothing/checkpoints; train first'):
    _restore(str(tmp_path / 'nothing'), tmp_path / 'in', tmp_path / 'out')
  assert sorted(os.listdir(tmp_path)) == ['in']


def _temporaries(folder):
  return [f for _, _, fs in os.walk(folder) for f in fs if f.endswith('.tmp')]


def test_a_full_disk_midway_keeps_finished_images_and_a_rerun_does_the_rest(
    tmp_path, workdir, monkeypatch):
  names = ['a.png', 'b.png', 'c.png']
  _images(tmp_path / 'in', names)
  synced = []
  real_fsync = os.fsync

  def fills_up(fd):  # the disk fills while the second image is written
    synced.append(fd)
    if len(synced) == 2:
      raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    real_fsync(fd)
  monkeypatch.setattr(paths.os, 'fsync', fills_up)
  with pytest.raises(UserError) as info:
    _restore(workdir, tmp_path / 'in', tmp_path / 'out', tile=100, overlap=20)
  assert str(info.value) == (f'cannot write {tmp_path}/out/b.png: No space left on device; the 1 '
                             f'image(s) finished before it are kept, and running the same '
                             f'command again does the rest')
  assert sorted(os.listdir(tmp_path / 'out')) == ['a.png']  # no partial b.png, no temporary
  finished = (tmp_path / 'out' / 'a.png').read_bytes()
  monkeypatch.setattr(paths.os, 'fsync', real_fsync)
  result = _restore(workdir, tmp_path / 'in', tmp_path / 'out', tile=100, overlap=20)
  assert (result['written'], result['kept']) == (2, 1)
  assert 'kept 1 finished earlier (--overwrite redoes them)' in result['line']
  assert (tmp_path / 'out' / 'a.png').read_bytes() == finished
  assert sorted(os.listdir(tmp_path / 'out')) == names


def test_a_rerun_redoes_damaged_outputs_and_clears_a_killed_runs_temporaries(tmp_path, workdir,
                                                                              monkeypatch):
  _images(tmp_path / 'in', ['a.png', 'b.png', 'sub/c.png'])
  out = tmp_path / 'out'
  assert _restore(workdir, tmp_path / 'in', out)['written'] == 3
  whole = (out / 'b.png').read_bytes()
  (out / 'b.png').write_bytes(whole[:len(whole) // 2])  # as an older, non-atomic writer left it
  dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                        capture_output=True, text=True, check=True).stdout.strip()
  (out / 'sub' / f'.c.png.{dead}.x1y2.tmp').write_bytes(b'half')  # left by a kill -9
  (out / 'sub' / f'.c.png.{os.getpid()}.x3y4.tmp').write_bytes(b'live')  # a running writer's
  result = _restore(workdir, tmp_path / 'in', out)
  assert (result['written'], result['kept']) == (1, 2)
  assert (out / 'b.png').read_bytes() == whole
  assert _temporaries(out) == [f'.c.png.{os.getpid()}.x3y4.tmp']
  result = _restore(workdir, tmp_path / 'in', out, overwrite=True)
  assert (result['written'], result['kept']) == (3, 0)
  monkeypatch.setattr(inference, 'load_model', None)  # all done: the model is not even loaded
  result = _restore(workdir, tmp_path / 'in', out)
  assert (result['written'], result['kept']) == (0, 3)


def test_sigterm_during_restore_is_one_line_and_keeps_whole_images(tmp_path, workdir,
                                                                   monkeypatch):
  _images(tmp_path / 'in', ['a.png', 'b.png', 'c.png'])
  real_write = outputs.write

  def write_then_signal(output_dir, target, image, bits, finished):
    real_write(output_dir, target, image, bits, finished)
    if finished == 0:
      os.kill(os.getpid(), signal.SIGTERM)
  monkeypatch.setattr(outputs, 'write', write_then_signal)
  with workdir_lib.RaiseOnSignals('--mode=restore'):
    with pytest.raises(Interrupted) as info:
      _restore(workdir, tmp_path / 'in', tmp_path / 'out')
  assert str(info.value) == (f'stopped by SIGTERM during --mode=restore: 1 of 3 images were '
                             f'restored into {tmp_path}/out (each whole); the same command '
                             f'finishes the rest')
  assert info.value.exit_code == 128 + signal.SIGTERM
  assert os.listdir(tmp_path / 'out') == ['a.png']
  assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored


def test_restore_killed_with_sigkill_resumes_without_redoing_finished_images(tmp_path, workdir):
  names = [f'm{i}.png' for i in range(6)]
  _images(tmp_path / 'in', names, size=(150, 150))
  out = tmp_path / 'out'
  command = [sys.executable, 'main.py', '--config=configs/single.py', '--mode=restore',
             f'--workdir={workdir}', f'--input={tmp_path / "in"}', f'--output={out}',
             '--config.eval.batch_size=8', '--config.num_train_steps=2']
  proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  while not (out / 'm1.png').exists():
    assert proc.poll() is None, 'restore ended before it was killed'
  proc.kill()
  proc.wait()
  finished = {n: (out / n).read_bytes() for n in os.listdir(out) if not n.startswith('.')}
  assert 2 <= len(finished) < len(names)
  for name in finished:  # each whole
    assert outputs.output_state(out / name, (150, 150)) == outputs.COMPLETE
  result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert (f'restored {len(names) - len(finished)} images into {out}' in result.stdout and
          f'kept {len(finished)} finished earlier' in result.stdout), result.stdout
  assert sorted(os.listdir(out)) == names  # and no temporary left
  assert all((out / n).read_bytes() == data for n, data in finished.items())


def test_main_py_refusals_are_one_line(tmp_path, workdir):
  _images(tmp_path / 'in', ['x.png'])
  base = [sys.executable, 'main.py', '--config=configs/single.py', '--mode=restore',
          f'--workdir={workdir}', f'--input={tmp_path / "in"}', f'--output={tmp_path / "out"}']
  for extra, fragment in ((['--tile=-3'], '--tile=-3: must be 0'),
                          (['--degradation=sr_x4'], 'does not enlarge')):
    result = subprocess.run(base + extra, cwd=ROOT, capture_output=True, text=True, timeout=300)
    errors = [l for l in result.stderr.splitlines() if l.startswith('error: ')]
    assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr[-3000:]
    assert len(errors) == 1 and fragment in errors[0], result.stderr[-3000:]
  assert sorted(os.listdir(tmp_path)) == ['in']


def test_sigterm_during_eval_is_one_line_and_writes_nothing(workdir, monkeypatch):
  def signalled(self, variables, eval_set):
    os.kill(os.getpid(), signal.SIGTERM)
    return [], {}
  monkeypatch.setattr(evaluate.Evaluator, 'run', signalled)
  flags = types.SimpleNamespace(mode='eval', workdir=workdir, coordinator_address='',
                                num_processes=0, process_id=-1, distributed_timeout=300)
  before = sorted(os.listdir(os.path.join(workdir, 'eval')))
  with pytest.raises(Interrupted, match=r'^stopped by SIGTERM during --mode=eval$') as info:
    cli.run('eval', _config(), flags)
  assert info.value.exit_code == 128 + signal.SIGTERM
  assert sorted(os.listdir(os.path.join(workdir, 'eval'))) == before


def test_restore_reads_the_workdirs_config_and_keeps_colour(workdir, tmp_path, capsys):
  """`--mode=restore --workdir=W --input --output` without --config: W's config.json. The grey
  model restores a colour photo channel by channel, and the summary line says so."""
  src = tmp_path / 'in'
  src.mkdir()
  Image.fromarray(smooth_image(0, 40, 44, 3)).save(src / "photo.png")
  flags = types.SimpleNamespace(
      mode='restore', workdir=workdir, input=str(src), output=str(tmp_path / 'out'),
      coordinator_address='', num_processes=0, process_id=-1, distributed_timeout=300, tile=0,
      tile_overlap=-1, degradation=None, degradation_args=None, seed=0, overwrite=False,
      channel_mode='per_channel', max_memory=0, compilation_cache='')
  cli.run('restore', None, flags)
  line = capsys.readouterr().out.strip().splitlines()[-1]
  assert line.startswith('restored 1 images into') and (
      '1 colour restored channel by channel with the grey model' in line), line
  assert np.asarray(Image.open(tmp_path / 'out' / 'photo.png')).shape == (40, 44, 3)
