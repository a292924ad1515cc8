"""End to end through main.py: a run killed with SIGKILL resumes to the uninterrupted result, and
8 host devices log the 1-device losses."""
import os
import signal
import subprocess
import sys
import time

import numpy as np

from aedenoise.runtime.writers import read_jsonl
from conftest import ROOT

ARGS = ['--config=configs/dual_skip.py:quick', '--config.batch_size=8',
        '--config.num_train_steps=9', '--config.checkpoint_every_steps=3',
        '--config.log_every_steps=1', '--config.data.num_eval=4', '--config.eval.batch_size=8']


def _command(workdir):
  return [sys.executable, os.path.join(ROOT, 'main.py'), *ARGS, f'--workdir={workdir}']


def _env(devices):
  return {**os.environ, 'XLA_FLAGS': f'--xla_force_host_platform_device_count={devices}'}


def _run(workdir, devices=8):
  result = subprocess.run(_command(workdir), cwd=ROOT, env=_env(devices), capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]


def _train_losses(workdir):
  records = read_jsonl(os.path.join(workdir, 'metrics.jsonl'))
  return {r['step']: r['loss'] for r in records if r['kind'] == 'train'}


def _eval_psnr(workdir):
  records = read_jsonl(os.path.join(workdir, 'metrics.jsonl'))
  final = [r for r in records if r['kind'] == 'eval'][-1]
  return [final[k] for k in sorted(final) if k.endswith('/psnr')]


def test_kill_then_rerun_equals_an_uninterrupted_run(tmp_path):
  straight, killed = str(tmp_path / 'straight'), str(tmp_path / 'killed')
  _run(straight)
  proc = subprocess.Popen(_command(killed), cwd=ROOT, env=_env(8), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  # Orbax renames a finished checkpoint to its step number; kill as soon as step 3 has landed.
  deadline = time.time() + 300
  while not os.path.isdir(os.path.join(killed, 'checkpoints', '3')) and time.time() < deadline:
    assert proc.poll() is None, 'the run ended before its first checkpoint'
    time.sleep(0.2)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert max(_train_losses(killed)) < 9, 'the run finished before it was killed'
  _run(killed)
  assert _train_losses(killed) == _train_losses(straight)
  assert sorted(_train_losses(straight)) == list(range(1, 10))
  assert len(_eval_psnr(straight)) == 4  # one row per dual-autoencoder study noise type
  assert _eval_psnr(killed) == _eval_psnr(straight)

  one_device = str(tmp_path / 'one_device')
  _run(one_device, devices=1)
  losses_1, losses_8 = _train_losses(one_device), _train_losses(straight)
  np.testing.assert_allclose([losses_1[s] for s in sorted(losses_1)],
                             [losses_8[s] for s in sorted(losses_8)], rtol=1e-5)
  np.testing.assert_allclose(_eval_psnr(one_device), _eval_psnr(straight), atol=1e-3)
