"""hostenv.use_huge_pages: one re-execution with glibc's huge-page tunable, same process id."""
import os
import subprocess
import sys

import pytest

from aedenoise.cpu import hostenv
from conftest import ROOT

# Prints the GLIBC_TUNABLES that children of the process would inherit.
SCRIPT = ('import os, sys; sys.path.insert(0, sys.argv[1]); print("start", flush=True); '
          'from aedenoise.cpu import hostenv; hostenv.use_huge_pages(); '
          'print(os.getpid(), hostenv.huge_pages_enabled(), '
          'repr(os.environ.get("GLIBC_TUNABLES")), sys.argv[2])')


def _run(**env):
  """(lines printed, whether the last line came from the process id that was started)"""
  env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
  proc = subprocess.Popen([sys.executable, '-c', SCRIPT, ROOT, 'arg'], stdout=subprocess.PIPE,
                          text=True, env=env)
  out = proc.communicate(timeout=60)[0].splitlines()
  assert proc.returncode == 0
  return out, out[-1].split()[0] == str(proc.pid)


@pytest.mark.skipif((hostenv._glibc_version() or (0,)) < (2, 35), reason='needs glibc 2.35+')  # pylint: disable=protected-access
def test_reexecutes_once_with_the_tunable_and_keeps_pid_and_arguments():
  out, same_pid = _run(GLIBC_TUNABLES='glibc.malloc.arena_max=4')
  assert out[:2] == ['start', 'start'] and len(out) == 3 and same_pid  # ran twice, one process
  # Re-executed with the tunable; its children get the user's own setting back.
  assert out[2].split()[1:] == ['True', "'glibc.malloc.arena_max=4'", 'arg']


def test_can_be_turned_off():
  out, same_pid = _run(AEDENOISE_MALLOC='default', GLIBC_TUNABLES=None)
  assert out[0] == 'start' and len(out) == 2 and same_pid
  assert out[1].split()[1:] == ['False', 'None', 'arg']


def test_importing_main_does_not_reexecute():
  result = subprocess.run([sys.executable, '-c', 'import os; pid = os.getpid(); import main; '
                           'print(pid == os.getpid(), os.environ.get("GLIBC_TUNABLES"))'],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != 'GLIBC_TUNABLES'})
  assert result.stdout.split() == ['True', 'None'], result.stderr[-2000:]


def test_a_users_own_hugetlb_setting_is_kept(monkeypatch):
  monkeypatch.setenv('GLIBC_TUNABLES', 'glibc.malloc.hugetlb=0')
  hostenv.use_huge_pages()  # would re-execute this test process if it did not keep the setting
  assert not hostenv.huge_pages_enabled()
  monkeypatch.setenv('GLIBC_TUNABLES', 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1')
  assert hostenv.huge_pages_enabled()
