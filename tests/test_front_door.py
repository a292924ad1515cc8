"""What a newcomer meets first: --help that lists every config and its variants, the missing flag
named, one image file as --input, a missing package as one line, progress as plain lines when
stderr is no terminal."""
import io
import os

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT
from test_cli import _assert_one_line_error, main_py

from aedenoise.commands import command
from aedenoise.errors import UserError
from aedenoise.restoration import degrade_files, restore
from aedenoise.runtime import progress
from aedenoise.runtime import workdir as workdir_lib

GREY_MODEL = os.path.join(ROOT, 'pretrained', 'unet_grey_blind')


def test_help_lists_every_config_with_its_variants():
  result = main_py('--help')
  assert result.returncode == 0, result.stderr
  text = result.stdout + result.stderr
  configs = [f[:-3] for f in os.listdir(os.path.join(ROOT, 'configs'))
             if f.endswith('.py') and f not in command.NOT_MODELS]
  for name in configs:
    assert f'\n  {name} ' in text, name
  assert 'grey (default) or colour' in text and 'depth=D,latent=L' in text
  assert 'method=noise2noise' in text and 'aedenoise --readme' in text
  for name, summary, variants in command.config_catalogue():  # every config states its variants
    assert summary and 'quick' in variants, name


def test_a_workdirs_config_json_is_a_config(tmp_path):
  workdir = os.path.join(ROOT, 'pretrained', 'faces_dual_skip')
  result = main_py('--mode=summary', f'--config={workdir}/config.json', '--config.ema_decay=0.5')
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip().splitlines()[-1] == 'trainable parameters: 91488'
  (tmp_path / 'config.json').write_text('[]')
  _assert_one_line_error(main_py('--mode=summary', f'--config={tmp_path}/config.json'),
                         'not a run\'s config')


def test_readme_is_printed_for_pip_users_too():
  result = main_py('--readme')
  assert result.returncode == 0 and result.stdout.startswith('# aedenoise')


@pytest.mark.parametrize('args, fragment', [
    (['--mode=restore', '--input=x', '--output=y'], '--mode=restore needs --workdir'),
    (['--mode=export', '--output=y'], '--mode=export needs --workdir'),
    (['--mode=train', '--workdir=w'], '--mode=train needs --config'),
    (['--mode=summary'], '--mode=summary needs --config or --workdir'),
])
def test_the_missing_flag_is_named(args, fragment):
  _assert_one_line_error(main_py(*args), fragment)


def test_a_workdir_without_config_is_named(tmp_path):
  _assert_one_line_error(main_py('--mode=eval', f'--workdir={tmp_path}'),
                         f'--workdir {tmp_path} holds no config.json')


def _photo(path, size=(40, 52)):
  rng = np.random.default_rng(0)
  Image.fromarray(rng.integers(0, 256, size, dtype=np.uint8)).save(path)


def test_restore_takes_one_image_file(tmp_path):
  config = workdir_lib.load_config(GREY_MODEL)
  (tmp_path / 'in').mkdir()
  _photo(tmp_path / 'in' / 'a.jpg')
  _photo(tmp_path / 'in' / 'b.png')
  into_folder = restore.restore_folder(config, GREY_MODEL, str(tmp_path / 'in' / 'a.jpg'),
                                       str(tmp_path / 'out'))
  assert into_folder['written'] == 1 and os.listdir(tmp_path / 'out') == ['a.png']
  as_file = restore.restore_folder(config, GREY_MODEL, str(tmp_path / 'in' / 'a.jpg'),
                                   str(tmp_path / 'clean.png'))
  assert as_file['written'] == 1
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'clean.png')),
                                np.asarray(Image.open(tmp_path / 'out' / 'a.png')))
  # Beside its input, in the input's own folder, is fine; over the input is not.
  restore.restore_folder(config, GREY_MODEL, str(tmp_path / 'in' / 'a.jpg'),
                         str(tmp_path / 'in'))
  assert (tmp_path / 'in' / 'a.png').exists()
  before = (tmp_path / 'in' / 'b.png').read_bytes()
  with pytest.raises(UserError, match='would overwrite --input'):
    restore.restore_folder(config, GREY_MODEL, str(tmp_path / 'in' / 'b.png'),
                           str(tmp_path / 'in'), overwrite=True)
  assert (tmp_path / 'in' / 'b.png').read_bytes() == before
  with pytest.raises(UserError, match='does not exist'):
    restore.restore_folder(config, GREY_MODEL, str(tmp_path / 'nothing.png'),
                           str(tmp_path / 'out2'))


def test_degrade_takes_one_image_file(tmp_path):
  _photo(tmp_path / 'a.png')
  degrade_files.degrade_folder(str(tmp_path / 'a.png'), str(tmp_path / 'noisy.png'),
                               degrade_files.make_spec('gaussian_s25', None, None), 0)
  noisy = np.asarray(Image.open(tmp_path / 'noisy.png'))
  assert noisy.shape == (40, 52)
  assert not np.array_equal(noisy, np.asarray(Image.open(tmp_path / 'a.png')))


def test_a_missing_package_is_one_line(capsys):
  def needs_flatbuffers():
    raise ImportError("Please install 'flatbuffers' in order to use Exported serialization")

  def needs_tfds():
    raise ModuleNotFoundError("No module named 'tensorflow_datasets'", name='tensorflow_datasets')
  for fn, fragment in ((needs_flatbuffers, 'requirements.txt'),
                       (needs_tfds, 'requirements-tfds.txt')):
    with pytest.raises(SystemExit) as e:
      command.run_reporting_errors(fn)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error: ') and fragment in err[0]


def test_progress_is_plain_lines_without_a_terminal(monkeypatch):
  monkeypatch.setattr(progress, 'LINE_INTERVAL', 0.0)
  stream = io.StringIO()
  with progress.Progress(3, 'restore', stream=stream) as bar:
    for _ in range(3):
      bar.update(1)
  lines = stream.getvalue().splitlines()
  assert '\r' not in stream.getvalue() and len(lines) == 4
  assert lines[0].startswith('restore: 1/3 img in') and 'left' in lines[0]
  assert lines[-1].startswith('restore: 3/3 img')
