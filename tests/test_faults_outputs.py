"""Outputs never replace what a mode did not make, and never land in what it reads: export,
training and import into a folder of the user's files, package racing package; inputs that are
no regular files are skipped, never opened; results are strict JSON."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from aedenoise import losses
from aedenoise.errors import UserError
from aedenoise.evaluation import scoring
from aedenoise.metrics import Convention
from aedenoise.restoration import export, package
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.training import train
from conftest import ROOT, tiny_config

FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'legacy_workdirs')


@pytest.fixture
def small_workdir(tmp_path):
  workdir = tmp_path / 'w'
  shutil.copytree(os.path.join(FIXTURES, 'cifar_model_b_small'), workdir)
  return str(workdir)


def _snapshot(folder):
  return {p: open(os.path.join(d, p), 'rb').read() for d, _, files in os.walk(folder)
          for p in files}


def test_export_never_writes_into_its_workdir_nor_over_files_it_did_not_make(small_workdir,
                                                                             tmp_path):
  config = workdir_lib.load_config(small_workdir)
  before = _snapshot(small_workdir)
  for inside in ('config.json', os.path.join('checkpoints', 'model.jax')):
    with pytest.raises(UserError, match='lies inside --workdir'):
      export.export_workdir(config, small_workdir, os.path.join(small_workdir, inside))
  assert _snapshot(small_workdir) == before
  mine = tmp_path / 'notes.txt'
  mine.write_text('the user\'s own file')
  with pytest.raises(UserError, match='not an exported model'):
    export.export_workdir(config, small_workdir, str(mine))
  assert mine.read_text() == 'the user\'s own file'
  out = str(tmp_path / 'out' / 'model.jax')
  export.export_workdir(config, small_workdir, out, platforms=('cpu',))
  export.export_workdir(config, small_workdir, out, platforms=('cpu',))  # its own file: replaced
  assert json.loads(open(out + '.json').read())['format'] == export.FORMAT


def test_training_refuses_a_folder_of_the_users_files(tmp_path):
  folder = tmp_path / 'mine'
  folder.mkdir()
  (folder / 'curves.png').write_bytes(b'my figure')
  (folder / 'metrics.jsonl').write_text('{"mine": 1}\n')
  with pytest.raises(UserError, match='holds files .* but no run'):
    train.train_and_evaluate(tiny_config(num_train_steps=1), str(folder))
  assert (folder / 'curves.png').read_bytes() == b'my figure'
  assert sorted(os.listdir(folder)) == ['curves.png', 'metrics.jsonl']


def test_package_moves_a_whole_folder_into_place_or_nothing(small_workdir, tmp_path):
  config = workdir_lib.load_config(small_workdir)
  (tmp_path / 'empty').mkdir()
  package.package(config, small_workdir, str(tmp_path / 'empty'))  # an empty folder is fine
  assert workdir_lib.load_config(str(tmp_path / 'empty')).model == config.model
  # A second run that finds the output filled by another one meanwhile writes nothing there.
  staged = tmp_path / '.staged'
  staged.mkdir()
  (staged / 'config.json').write_text('{}')
  before = _snapshot(tmp_path / 'empty')
  with pytest.raises(UserError, match='filled by another run'):
    package._move_into_place(str(staged), str(tmp_path / 'empty'))
  assert _snapshot(tmp_path / 'empty') == before
  assert not [n for n in os.listdir(tmp_path) if n.endswith('package-tmp')]


def test_a_fifo_among_the_inputs_is_skipped_not_opened(tmp_path):
  for folder in ('a', 'b'):
    (tmp_path / folder).mkdir()
    Image.fromarray(np.full((8, 8), 100, np.uint8)).save(tmp_path / folder / 'x.png')
  os.mkfifo(tmp_path / 'a' / 'y.png')
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'main.py'), '--mode=score', f'--input={tmp_path / "a"}',
       f'--reference={tmp_path / "b"}'], capture_output=True, text=True, timeout=120, cwd=ROOT)
  assert result.returncode == 0, result.stderr
  assert 'no regular files' in result.stderr and 'y.png' in result.stderr


def test_identical_folders_score_as_strict_json(tmp_path, capsys):
  (tmp_path / 'a').mkdir()
  Image.fromarray(np.full((8, 8), 100, np.uint8)).save(tmp_path / 'a' / 'x.png')
  result = scoring.score_folders(str(tmp_path / 'a'), str(tmp_path / 'a'), Convention())
  assert result['psnr'] == float('inf')
  out, err = capsys.readouterr()
  printed = json.loads(out.strip().splitlines()[-1], parse_constant=pytest.fail)
  assert printed['psnr'] is None and 'written as null' in err


@pytest.mark.parametrize('loss', ['mse+-1*l1', '-2*mse', 'mse+1e999*l1'])
def test_a_negative_or_non_finite_loss_weight_is_refused(loss):
  with pytest.raises(losses.LossError, match='weights are finite and not negative'):
    losses.Objective.parse(loss, 'sigmoid')


@pytest.mark.parametrize('content, match', [
    (b'{}', 'naming its model'), (b'[1, 2]', 'naming its model'),
    (b'\xff\xfe not utf-8', 'cannot read'), (b'{"model": 3}', 'naming its model')])
def test_a_broken_config_json_is_one_line(tmp_path, content, match):
  (tmp_path / 'config.json').write_bytes(content)
  with pytest.raises(UserError, match=match) as e:
    workdir_lib.load_config(str(tmp_path))
  assert '\n' not in str(e.value)


def test_the_api_checks_its_arguments_in_one_line():
  import aedenoise  # pylint: disable=g-import-not-at-top
  workdir = os.path.join(FIXTURES, 'cifar_model_b_small')
  dual_skip = os.path.join(ROOT, 'pretrained', 'faces_dual_skip')  # takes 12 pixels and more
  for where, kwargs, match in ((workdir, {'tile': -5}, 'tile'), (dual_skip, {'tile': 3}, 'tile'),
                               (workdir, {'max_memory_mb': -1}, 'max_memory_mb'),
                               (workdir, {'channel_mode': 'lab'}, 'channel_mode')):
    with pytest.raises(UserError, match=match) as e:
      aedenoise.load(where, **kwargs)
    assert '\n' not in str(e.value)
  saved = json.loads(open(os.path.join(workdir, 'config.json')).read())
  assert aedenoise.load(workdir, config=saved).channels == 3  # config.json's dict, as it is


def test_usage_errors_exit_2_in_one_line(tmp_path):
  result = subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), '--mode=summary',
                           '--config=configs/dual_skip.py', 'extra'], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
  assert result.returncode == 2 and result.stderr.strip().splitlines() == [
      'error: unexpected arguments: extra']
  from aedenoise.evaluation import benchmark  # pylint: disable=g-import-not-at-top
  with pytest.raises(UserError, match='names mix twice'):
    benchmark.parse_sets(f'mix={tmp_path},mix={tmp_path}')
  with pytest.raises(UserError, match='from 1 to 255'):
    benchmark.parse_sigmas('25,300')


def _load_exported_example():
  import importlib.util  # pylint: disable=g-import-not-at-top
  spec = importlib.util.spec_from_file_location(
      'load_exported', os.path.join(ROOT, 'examples', 'load_exported.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_load_exported_refuses_bad_files_and_images_in_one_line(tmp_path, capsys):
  example = _load_exported_example()
  contract = {'input': {'channels': 1, 'multiple': 4, 'min_size': [4, 4]}}
  assert example.problem(np.zeros((40, 44, 1)), contract) is None
  for shape, match in (((41, 41, 1), 'multiples of 4'), ((4, 4, 3), '3 channel'),
                       ((8,), 'shape')):
    assert match in example.problem(np.zeros(shape), contract)
  np.save(tmp_path / 'in.npy', np.zeros((8, 8, 1), np.float32))
  for content in (b'', os.urandom(300)):
    (tmp_path / 'm.jax').write_bytes(content)
    code = example.main(['x', str(tmp_path / 'm.jax'), str(tmp_path / 'in.npy'),
                         str(tmp_path / 'out.npy')])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and 'not a model written by --mode=export' in err[0]


def test_a_study_refused_before_any_run_wrote_leaves_nothing(tmp_path):
  from aedenoise.studies import definition, runner  # pylint: disable=g-import-not-at-top

  class Refused(definition.Study):
    name = 'refused'

    def runs(self, budget, data_dir):
      # An empty validation split: the first training refuses the run.
      return [definition.Run('r', 'single', tiny_config(**{'data.eval': f'folder:{tmp_path}/no'}))]
  root = tmp_path / 'study'
  with pytest.raises(UserError):
    runner.run_study(Refused(), str(root), 'smoke', str(tmp_path))
  assert not root.exists()
  (root / 'r').mkdir(parents=True)  # a workdir where a run had started is the study's
  with pytest.raises(UserError):
    runner.run_study(Refused(), str(root), 'smoke', str(tmp_path))
  assert (root / runner.SPEC).exists()
  (root / 'r' / runner.definition.SCORES).write_text('{"step": ')  # half a file: scored again
  assert runner.finished_scores(Refused().runs('smoke', '')[0], str(root / 'r')) is None


def test_restore_notes_transparency_and_honours_max_pixels(tmp_path, capsys):
  from aedenoise.restoration import restore  # pylint: disable=g-import-not-at-top
  workdir = os.path.join(FIXTURES, 'cifar_model_b_small')
  config = workdir_lib.load_config(workdir)
  (tmp_path / 'in').mkdir()
  rgba = np.zeros((16, 16, 4), np.uint8)
  rgba[..., 3] = 0  # wholly transparent
  Image.fromarray(rgba, 'RGBA').save(tmp_path / 'in' / 'clear.png')
  Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / 'in' / 'big.png')
  config.data.max_pixels = 1000  # 16x16 passes, 40x40 does not
  result = restore.restore_folder(config, workdir, str(tmp_path / 'in'), str(tmp_path / 'out'))
  assert result['written'] == 1 and len(result['skipped']) == 1 and 'big.png' in result['skipped'][0]
  assert 'with transparency' in capsys.readouterr().err


def test_a_test_set_of_mixed_channels_says_so(tmp_path):
  from aedenoise.evaluation import testsets  # pylint: disable=g-import-not-at-top
  Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / 'a.png')
  Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'b.png')
  test = testsets.load_set('mine', str(tmp_path))
  assert test.converted == ['b.png'] and 'scored in grey' in test.notes()[0]


def test_a_baseline_cache_file_of_another_shape_is_computed_again(tmp_path):
  from aedenoise.evaluation import baseline_runner  # pylint: disable=g-import-not-at-top
  noisy = np.random.default_rng(0).random((12, 12, 1)).astype(np.float32)
  job = baseline_runner.Job('tv', noisy, 0.1)
  first = baseline_runner.run([job], str(tmp_path), workers=1)[0]
  [cached] = list((tmp_path / 'tv').iterdir())
  np.save(cached, np.zeros((3, 3), np.uint16))  # another file under the result's name
  again = baseline_runner.run([job], str(tmp_path), workers=1)[0]
  assert not again.cached and again.image.shape == noisy.shape
  np.testing.assert_array_equal(again.image, first.image)


def test_an_image_size_beyond_memory_is_refused_before_anything_runs(tmp_path):
  from aedenoise import validation  # pylint: disable=g-import-not-at-top
  config = tiny_config(**{'data.image_size': (100000, 100000)})
  with pytest.raises(UserError, match='more than half this machine'):
    validation.validate(config)


def test_a_failed_checkpoint_save_is_one_line_and_keeps_the_earlier(tmp_path, monkeypatch):
  """A full disk at the second save: one line naming the checkpoint; the first one resumes."""
  import errno  # pylint: disable=g-import-not-at-top
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  config = tiny_config(num_train_steps=4, checkpoint_every_steps=2)
  workdir = str(tmp_path / 'w')
  real_save, calls = ocp.CheckpointManager.save, []

  def save(self, step, *args, **kwargs):
    calls.append(step)
    if step == 4:
      raise OSError(errno.ENOSPC, 'No space left on device')
    return real_save(self, step, *args, **kwargs)
  monkeypatch.setattr(ocp.CheckpointManager, 'save', save)
  with pytest.raises(UserError, match='cannot save checkpoint 4 .* No space left on device') as e:
    train.train_and_evaluate(config, workdir)
  assert '\n' not in str(e.value)
  monkeypatch.setattr(ocp.CheckpointManager, 'save', real_save)
  assert sorted(os.listdir(os.path.join(workdir, 'checkpoints'))) == ['2']
  train.train_and_evaluate(config, workdir)  # resumes from step 2
  assert '4' in os.listdir(os.path.join(workdir, 'checkpoints'))


def test_a_restore_that_could_read_nothing_fails_and_leaves_no_folder(tmp_path):
  from aedenoise.restoration import restore  # pylint: disable=g-import-not-at-top
  workdir = os.path.join(FIXTURES, 'cifar_model_b_small')
  (tmp_path / 'in').mkdir()
  (tmp_path / 'in' / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
  with pytest.raises(UserError, match='none of the 1 images'):
    restore.restore_folder(workdir_lib.load_config(workdir), workdir, str(tmp_path / 'in'),
                           str(tmp_path / 'out'))
  assert not (tmp_path / 'out').exists()


def test_an_unreachable_url_output_is_one_line():
  from aedenoise.runtime import paths  # pylint: disable=g-import-not-at-top
  with pytest.raises(UserError, match='cannot reach it') as e:
    paths.check_reachable('s3://no-such-bucket-here/out', '--output')
  assert '\n' not in str(e.value)
  paths.check_reachable('/tmp/local', '--output')  # local paths are not probed


def test_a_float_image_is_read_as_0_to_1_by_its_type(tmp_path):
  from aedenoise.input_pipeline import images as image_io  # pylint: disable=g-import-not-at-top
  values = np.full((6, 6), 0.5, np.float32)
  values[0, 0] = 1.01  # one pixel a little out of range: clipped, not a rescale of the rest
  Image.fromarray(values, 'F').save(tmp_path / 'f.tif')
  grey, bits = image_io.read_float(str(tmp_path / 'f.tif'), 1)
  assert bits == 16 and grey[1, 1, 0] == pytest.approx(0.5) and grey[0, 0, 0] == 1.0
  assert image_io.read_image(str(tmp_path / 'f.tif'), 1)[1, 1, 0] == 128


def test_outputs_inside_what_a_mode_reads_and_special_inputs_are_refused(tmp_path):
  from aedenoise.restoration import restore  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path / 'w')
  shutil.copytree(os.path.join(FIXTURES, 'cifar_model_b_small'), workdir)
  config = workdir_lib.load_config(workdir)
  (tmp_path / 'in').mkdir()
  Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / 'in' / 'a.png')
  before = _snapshot(workdir)
  with pytest.raises(UserError, match='inside --workdir'):
    package.package(config, workdir, os.path.join(workdir, 'shared'))
  with pytest.raises(UserError, match='inside checkpoints/ of --workdir'):
    restore.restore_folder(config, workdir, str(tmp_path / 'in'),
                           os.path.join(workdir, 'checkpoints', 'x'))
  assert _snapshot(workdir) == before
  os.mkfifo(tmp_path / 'fifo.png')
  with pytest.raises(UserError, match='neither a regular file nor a folder'):
    restore.restore_folder(config, workdir, str(tmp_path / 'fifo.png'), str(tmp_path / 'out'))
  example = _load_exported_example()
  assert example.main(['x', str(tmp_path / 'fifo.png'), 'in.npy', 'out.npy']) == 2  # no hang


def test_a_damaged_metrics_log_is_read_around(tmp_path):
  from aedenoise.runtime.writers import read_jsonl  # pylint: disable=g-import-not-at-top
  (tmp_path / 'metrics.jsonl').write_bytes(b'{"step": 1}\n[1, 2]\n\xff\xfe\n{"step": 2}\n{"ste')
  assert read_jsonl(tmp_path / 'metrics.jsonl') == [{'step': 1}, {'step': 2}]
