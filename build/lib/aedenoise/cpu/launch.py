"""One machine's CPU cores as several processes of one run (`main.py --cpu_processes=N`).

Why: on a CPU, XLA splits every operation of a step across the cores of one process and joins
them again, thousands of times per step. N processes, each pinned to its own cores and holding
its own share of the batch, run the same step with nothing to join but one all-reduce of the
gradients per step (`train._accumulate`); docs/PERFORMANCE.md has the measurements. They are an
ordinary multi-process run on 127.0.0.1 (`parallel.initialize_distributed`), so the result is
that of one process with N devices, up to float summation order.

The launcher starts the processes and watches them: a signal it receives goes to process 0, and
all processes stop at the same step with its checkpoint (`train._train`); when one process fails
the others are stopped; and each process is stopped the same way if the launcher dies, even by
kill -9.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from aedenoise.errors import UserError

ASSIGNMENT = 'AEDENOISE_LOCAL_PROCESS'  # "index/count/port/cpu,cpu,...", set for each process
_PR_SET_PDEATHSIG = 1


def cpu_groups(n: int, cpus: list[int]) -> list[list[int]]:
  """n contiguous, near-equal groups of the usable cpus, one per process."""
  if not 1 <= n <= len(cpus):
    raise UserError(f'--cpu_processes={n}: this machine lets the run use {len(cpus)} CPU '
                    f'core(s); use 1..{len(cpus)}')
  size, extra = divmod(len(cpus), n)
  starts = [i * size + min(i, extra) for i in range(n + 1)]
  return [cpus[starts[i]:starts[i + 1]] for i in range(n)]


def _parse(value: str) -> tuple[int, int, int, set[int]]:
  index, count, port, cpus = value.split('/')
  return int(index), int(count), int(port), {int(c) for c in cpus.split(',')}


def assignment(env=os.environ) -> tuple[int, int, str] | None:
  """(process index, process count, coordinator address) of a launched process, else None."""
  value = env.get(ASSIGNMENT)
  if not value:
    return None
  index, count, port, _ = _parse(value)
  return index, count, f'127.0.0.1:{port}'


def take_assigned_cpus() -> None:
  """In a launched process, before JAX starts: keep to the assigned cores (JAX sizes its thread
  pool by them) and end with the launcher. Does nothing in any other process."""
  value = os.environ.get(ASSIGNMENT)
  if not value:
    return
  os.sched_setaffinity(0, _parse(value)[3])
  try:  # SIGTERM when the launcher dies, even by kill -9 (Linux)
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
  except (OSError, AttributeError):
    pass
  launcher = os.environ.get(ASSIGNMENT + '_LAUNCHER')
  if launcher and os.getppid() != int(launcher):  # it died before prctl took effect
    sys.exit(143)


def without_flag(argv: list[str], name: str) -> list[str]:
  """argv without --name=value or --name value: the launcher's own flag, kept from its processes."""
  rest, skip = [], False
  for arg in argv:
    if skip:
      skip = False
    elif arg == f'--{name}':
      skip = True
    elif not arg.startswith(f'--{name}='):
      rest.append(arg)
  return rest


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def run(n: int, argv: list[str], grace_s: float = 60.0) -> int:
  """Runs `argv` (a command line of this Python) as n pinned processes; returns the exit code."""
  if not hasattr(os, 'sched_getaffinity'):
    raise UserError('--cpu_processes needs Linux (CPU affinity); leave it at 1 here')
  groups = cpu_groups(n, sorted(os.sched_getaffinity(0)))
  port = _free_port()
  procs, logs = [], []
  for i, cpus in enumerate(groups):
    env = dict(os.environ)
    env[ASSIGNMENT] = f'{i}/{n}/{port}/{",".join(map(str, cpus))}'
    env[ASSIGNMENT + '_LAUNCHER'] = str(os.getpid())
    # Process 0 speaks for the run; the others' output is shown only if they fail alone.
    log = None if i == 0 else tempfile.TemporaryFile(mode='w+')
    logs.append(log)
    # Own sessions: a Ctrl-C in the terminal reaches the launcher alone, which passes it on once.
    procs.append(subprocess.Popen([sys.executable, *argv], env=env, stdout=log,
                                  stderr=subprocess.STDOUT if log else None,
                                  start_new_session=True))

  def forward(signum, frame):
    del frame
    if procs[0].poll() is None:
      procs[0].send_signal(signum)

  previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    codes = _wait(procs, grace_s)
  finally:
    for s, handler in previous.items():
      signal.signal(s, handler)
  for i, (code, log) in enumerate(zip(codes, logs)):
    if i and code and not codes[0] and log is not None:
      log.seek(0)
      tail = log.read().strip().splitlines()[-20:]
      print('\n'.join([f'process {i} of {n} failed (exit code {code}):'] + tail), file=sys.stderr)
  code = next((c for c in codes if c), 0)
  return 128 - code if code < 0 else code  # killed by a signal: the shell's convention


def _wait(procs: list[subprocess.Popen], grace_s: float) -> list[int]:
  """Waits for every process; once one fails, the others get SIGTERM, then SIGKILL after
  `grace_s` (a process waiting on a dead peer would otherwise wait for its timeout)."""
  failed_at = None
  while any(p.poll() is None for p in procs):
    if failed_at is None and any(p.returncode for p in procs if p.returncode is not None):
      failed_at = time.monotonic()
      for p in procs:
        if p.poll() is None:
          p.terminate()
    if failed_at is not None and time.monotonic() - failed_at > grace_s:
      for p in procs:
        if p.poll() is None:
          p.kill()
    time.sleep(0.2)
  return [p.returncode for p in procs]
