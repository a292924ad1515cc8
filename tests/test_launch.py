"""`main.py --cpu_processes=N`: the launcher's plan and refusals in-process; end to end, two pinned
processes train like one process with two devices, and a signal stops both at the same step with
its checkpoint."""
import json
import os
import signal
import subprocess
import sys
import time
import types

import numpy as np
import pytest

from aedenoise.commands import cli
from aedenoise.cpu import launch
from aedenoise.errors import UserError
from conftest import ROOT

TIMEOUT = 420  # seconds; generous for a loaded 2-core CI machine
ARGS = ['--config=configs/single.py:quick', '--config.batch_size=4', '--config.log_every_steps=1',
        '--config.data.num_eval=4', '--config.eval.batch_size=4']
CORES = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else 1
needs_two_cores = pytest.mark.skipif(CORES < 2, reason='--cpu_processes=2 needs 2 CPU cores')


def test_cores_are_split_into_contiguous_near_equal_groups():
  assert launch.cpu_groups(2, [0, 1, 2, 3, 4]) == [[0, 1, 2], [3, 4]]
  assert launch.cpu_groups(3, [4, 5, 6]) == [[4], [5], [6]]
  with pytest.raises(UserError, match=r'--cpu_processes=3: this machine lets the run use 2 CPU'):
    launch.cpu_groups(3, [0, 1])
  with pytest.raises(UserError, match=r'use 1..2'):
    launch.cpu_groups(0, [0, 1])


def test_a_launched_process_reads_its_place_from_the_environment():
  assert launch.assignment({}) is None
  assert launch.assignment({launch.ASSIGNMENT: '1/2/41234/3,4'}) == (1, 2, '127.0.0.1:41234')


def test_the_launcher_keeps_its_own_flag_from_its_processes():
  argv = ['main.py', '--cpu_processes=2', '--workdir=w', '--cpu_processes', '3', '--seed=1']
  assert launch.without_flag(argv, 'cpu_processes') == ['main.py', '--workdir=w', '--seed=1']


def _flags(**overrides):
  values = dict(cpu_processes=2, mode='train', coordinator_address='', num_processes=0,
                workdir='/tmp/unused')
  values.update(overrides)
  return types.SimpleNamespace(**values)


@pytest.mark.parametrize('overrides, message', [
    (dict(mode='restore'), '--cpu_processes is for --mode=train or eval, not restore'),
    (dict(coordinator_address='10.0.0.1:1234'), 'leave out --coordinator_address'),
    (dict(num_processes=4), 'leave out --coordinator_address and --num_processes'),
    (dict(workdir=None), 'workdir'),
])
def test_the_launcher_refuses_what_it_cannot_run_in_one_line(overrides, message):
  with pytest.raises(UserError, match=message):
    cli.launch_processes(_flags(**overrides), ['main.py', '--cpu_processes=2'])


def _main(args, workdir, env_devices=None):
  env = dict(os.environ)
  env.pop('XLA_FLAGS', None)
  if env_devices:
    env['XLA_FLAGS'] = f'--xla_force_host_platform_device_count={env_devices}'
  return subprocess.Popen([sys.executable, 'main.py', *ARGS, *args, f'--workdir={workdir}'],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def _records(workdir, kind):
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    return [r for r in map(json.loads, f) if r['kind'] == kind]


@needs_two_cores
def test_two_pinned_processes_train_like_one_process_with_two_devices(tmp_path):
  two = _main(['--cpu_processes=2', '--config.num_train_steps=3'], tmp_path / 'two')
  one = _main(['--config.num_train_steps=3'], tmp_path / 'one', env_devices=2)
  logs = [p.communicate(timeout=TIMEOUT)[0] for p in (two, one)]
  for proc, log in zip((two, one), logs):
    assert proc.returncode == 0, log[-3000:]
  assert 'process 0 of 2, 1 local / 2 global devices' in logs[0]
  assert 'process 1 of 2' not in logs[0]  # process 0 speaks for the run
  losses = [[r['loss'] for r in _records(tmp_path / w, 'train')] for w in ('two', 'one')]
  assert len(losses[0]) == 3
  np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


@needs_two_cores
def test_a_signal_stops_both_processes_at_one_step_with_its_checkpoint(tmp_path):
  proc = _main(['--cpu_processes=2', '--config.num_train_steps=100000',
                '--config.checkpoint_every_steps=100000'], tmp_path / 'run')
  lines = []
  for line in proc.stdout:  # wait for training to be under way
    lines.append(line)
    if 'step 2/100000' in line:
      break
  proc.send_signal(signal.SIGINT)
  output = ''.join(lines) + proc.communicate(timeout=TIMEOUT)[0]
  assert proc.returncode == 130, output[-3000:]
  last = output.strip().splitlines()[-1]
  assert last.startswith('error: stopped by SIGINT at step ') and 'checkpoint is saved' in last
  step = int(last.split('at step ')[1].split(';')[0])
  assert (tmp_path / 'run' / 'checkpoints' / str(step)).is_dir()
  time.sleep(1)
  assert not _processes_with(f'--workdir={tmp_path / "run"}')  # neither outlives the run


def _processes_with(argument: str) -> list[int]:
  pids = []
  for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
      with open(f'/proc/{pid}/cmdline', 'rb') as f:
        if argument.encode() in f.read().split(b'\0'):
          pids.append(int(pid))
    except OSError:  # ended meanwhile
      pass
  return pids
