"""End to end through main.py: two processes on 127.0.0.1 train together on a folder of mixed good and
broken files and log the same losses as one process with the same global batch; unusable data stops
the run with one error line before training."""
import json
import os
import socket
import subprocess
import sys

import numpy as np

from conftest import ROOT
import image_files

TIMEOUT = 420  # seconds; generous for a loaded 2-core CI machine
ARGS = ['--config=configs/single.py', '--config.num_train_steps=3', '--config.batch_size=4',
        '--config.log_every_steps=1', '--config.data.num_eval=4', '--config.eval.batch_size=4']


def _env(devices: int) -> dict:
  env = dict(os.environ)
  env['XLA_FLAGS'] = f'--xla_force_host_platform_device_count={devices}'
  return env


def _main(args, workdir, devices):
  return subprocess.Popen([sys.executable, 'main.py', *ARGS, *args, f'--workdir={workdir}'],
                          cwd=ROOT, env=_env(devices), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _records(workdir, kind):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [r for r in map(json.loads, f) if r['kind'] == kind]


def test_two_processes_match_one_process_on_a_mixed_folder(tmp_path):
  data = tmp_path / 'mixed'
  image_files.make_mixed_folder(str(data))
  common = [f'--config.data.train=folder:{data}']
  port = _free_port()
  multi = [_main(common + [f'--coordinator_address=127.0.0.1:{port}', '--num_processes=2',
                           f'--process_id={i}'], tmp_path / 'two', devices=1) for i in (0, 1)]
  single = _main(common, tmp_path / 'one', devices=2)  # same global batch over the same 2 devices
  logs = []
  try:
    for proc in [*multi, single]:
      logs.append(proc.communicate(timeout=TIMEOUT)[0])
  finally:
    for proc in [*multi, single]:
      proc.kill()
  for proc, log in zip([*multi, single], logs):
    assert proc.returncode == 0, log[-3000:]
  # Each process reads only its own rows; broken files are dropped and counted in one line.
  assert 'process 0 of 2 reads rows 0-1 of each global batch of 4' in logs[0]
  assert 'process 1 of 2 reads rows 2-3 of each global batch of 4' in logs[1]
  for log in logs:
    assert log.count('skipped 4 of 19 files that are not usable images') == 1
  one, two = _records(tmp_path / 'one', 'train'), _records(tmp_path / 'two', 'train')
  assert [r['step'] for r in two] == [1, 2, 3]
  np.testing.assert_allclose([r['loss'] for r in two], [r['loss'] for r in one], rtol=1e-5)
  np.testing.assert_allclose([r['psnr'] for r in two], [r['psnr'] for r in one], rtol=1e-4)
  eval_one, eval_two = _records(tmp_path / 'one', 'eval')[-1], _records(tmp_path / 'two', 'eval')[-1]
  assert eval_one.keys() == eval_two.keys()
  for key in eval_one:
    if key not in ('step', 'kind'):
      np.testing.assert_allclose(eval_two[key], eval_one[key], rtol=1e-4, err_msg=key)


def test_empty_folder_exits_with_one_error_line_before_training(tmp_path):
  # Every SourceError/DataError takes this path (UserError); the unit tests cover the messages.
  (tmp_path / 'empty').mkdir()
  proc = _main([f'--config.data.train=folder:{tmp_path / "empty"}'], tmp_path / 'run', devices=1)
  output = proc.communicate(timeout=TIMEOUT)[0]
  assert proc.returncode == 2, output[-3000:]
  assert 'Traceback' not in output
  last = output.strip().splitlines()[-1]
  assert last.startswith('error: no image files') and str(tmp_path / 'empty') in last
  metrics = tmp_path / 'run' / 'metrics.jsonl'
  assert not metrics.exists() or '"train"' not in metrics.read_text()
