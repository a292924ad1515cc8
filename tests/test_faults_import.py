"""Crafted PyTorch files and config files that raise: each is one line, none allocates what the
file declares or leaves a workdir behind."""
import os
import resource
import subprocess
import sys

import numpy as np
import pytest

from aedenoise.errors import UserError
from aedenoise.training import importing, torch_import
from conftest import ROOT, tiny_config
import torch_files as tf


def test_the_writer_makes_files_the_reader_reads(tmp_path):
  """The crafted files below differ from this one in one point each."""
  w = np.arange(6, dtype=np.float32)
  path = tf.write(tmp_path / 'ok.pt', tf.state_dict({
      'w': tf.tensor('0', 6, (2, 3), (3, 1)), 'odd': tf.tensor('0', 6, (3,), (2,), offset=1)}),
                  {'0': w})
  state = torch_import.load_state_dict(path)
  np.testing.assert_array_equal(state['w'], w.reshape(2, 3))
  np.testing.assert_array_equal(state['odd'], [1, 3, 5])


def _refused(path, match, **kwargs):
  with pytest.raises(torch_import.MalformedCheckpoint, match=match) as info:
    torch_import.load_state_dict(str(path), **kwargs)
  message = str(info.value)
  assert message.startswith(f'{path}: ') and len(message.splitlines()) == 1
  return message


def test_a_missing_storage_record_is_one_line(tmp_path):
  path = tf.write(tmp_path / 'x.pt', tf.state_dict({'w': tf.tensor('0', 4, (4,), (1,))}), {})
  _refused(path, r'the storage record archive/data/0 is missing')


@pytest.mark.parametrize('opcodes, match', [
    (b']', r'it holds an object of type list, not a state dict'),
    (b'J\x05\x00\x00\x00', r'it holds an object of type int, not a state dict'),
    (b'ccollections\nOrderedDict\n(J\x05\x00\x00\x00tR', r'TypeError'),  # OrderedDict(5)
    (b'ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00w}u',
     r"its entry 'w' is of type dict, not a tensor \(a whole training checkpoint"),
])
def test_payloads_that_are_not_a_state_dict_are_one_line(tmp_path, opcodes, match):
  _refused(tf.write(tmp_path / 'x.pt', tf.raw(opcodes), {}), match)


def test_a_stride_0_tensor_of_1e14_elements_is_refused_without_allocating(tmp_path):
  path = tf.write(tmp_path / 'x.pt', tf.state_dict({
      'w': tf.tensor('0', 1, (10**7, 10**7), (0, 0))}), {'0': np.ones(1, np.float32)})
  before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  _refused(path, r'declares 100,000,000,000,000 elements, more than its storage holds \(1\)')
  assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def test_storage_records_are_checked_before_they_are_read(tmp_path):
  declared = tf.write(tmp_path / 'a.pt', tf.state_dict({'w': tf.tensor('0', 10**9, (4,), (1,))}),
                      {'0': np.ones(4, np.float32)})
  _refused(declared, r'holds 16 bytes, not the 1,000,000,000 x 4 the pickle declares')
  large = tf.write(tmp_path / 'b.pt', tf.state_dict({'w': tf.tensor('0', 1000, (4,), (1,))}),
                   {'0': np.ones(1000, np.float32)})
  _refused(large, r'more elements than the model has variables', max_elements=100)
  assert torch_import.load_state_dict(large, max_elements=1000)['w'].shape == (4,)
  past = tf.write(tmp_path / 'c.pt', tf.state_dict({'w': tf.tensor('0', 4, (4,), (1,), 2)}),
                  {'0': np.ones(4, np.float32)})
  _refused(past, r'reads past its storage')
  _refused(tf.write(tmp_path / 'd.pt', b'not a pickle', {}), r'UnpicklingError')
  (tmp_path / 'e.pt').write_bytes(b'PK\x03\x04 truncated')
  _refused(tmp_path / 'e.pt', r'BadZipFile')


def test_import_mode_refuses_crafted_files_and_leaves_no_workdir(tmp_path):
  config = tiny_config('single')
  crafted = {
      'missing.pt': (tf.state_dict({'w': tf.tensor('0', 4, (4,), (1,))}), {}),
      'list.pt': (tf.raw(b']'), {}),
      'huge.pt': (tf.state_dict({'w': tf.tensor('0', 1, (10**7, 10**7), (0, 0))}),
                  {'0': np.ones(1, np.float32)}),
      'big_storage.pt': (tf.state_dict({'w': tf.tensor('0', 10**6, (4,), (1,))}),
                         {'0': np.ones(10**6, np.float32)}),  # more than the model's 36,386
  }
  for name, (pickle_bytes, storages) in crafted.items():
    path = tf.write(tmp_path / name, pickle_bytes, storages)
    with pytest.raises(UserError, match=f'{name}: not a readable PyTorch state dict') as info:
      importing.import_torch_weights(config, str(tmp_path / 'w'), path)
    assert len(str(info.value).splitlines()) == 1
  assert not (tmp_path / 'w').exists()


def _main(*args):
  return subprocess.run([sys.executable, os.path.join(ROOT, 'main.py'), *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=300)


def _one_error_line(result) -> str:
  assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr[-3000:]
  errors = [l for l in result.stderr.splitlines() if l.startswith('error: ')]
  assert len(errors) == 1, result.stderr[-3000:]
  return errors[0]


def test_main_py_import_of_a_crafted_file_is_one_line(tmp_path):
  path = tf.write(tmp_path / 'huge.pt', tf.state_dict({
      'w': tf.tensor('0', 1, (10**7, 10**7), (0, 0))}), {'0': np.ones(1, np.float32)})
  line = _one_error_line(_main('--config=configs/dual_skip.py', '--mode=import',
                               f'--workdir={tmp_path / "w"}', f'--input={path}'))
  assert 'huge.pt: not a readable PyTorch state dict' in line and 'declares' in line
  assert not (tmp_path / 'w').exists()


def test_a_config_file_that_raises_is_one_line_naming_file_and_line(tmp_path):
  (tmp_path / 'zero.py').write_text('import ml_collections\n\n\ndef get_config():\n'
                                    '  return ml_collections.ConfigDict({"x": 1 / 0})\n')
  (tmp_path / 'at_import.py').write_text('LIMITS = {}\nLIMIT = LIMITS["x"]\n')
  line = _one_error_line(_main(f'--config={tmp_path / "zero.py"}', '--mode=summary'))
  assert line == (f'error: cannot load the config file {tmp_path / "zero.py"}: line 5: '
                  f'ZeroDivisionError: division by zero')
  line = _one_error_line(_main(f'--config={tmp_path / "at_import.py"}:quick', '--mode=summary'))
  assert f'{tmp_path / "at_import.py"}: line 2: KeyError' in line
