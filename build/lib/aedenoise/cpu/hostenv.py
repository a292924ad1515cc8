"""Process-level settings that must be made before the process allocates: huge pages for malloc.

XLA:CPU allocates and frees large temporary buffers every step. glibc serves blocks that large
with a fresh `mmap` each time, and faulting their 4 KiB pages in again can take a large share of a
step on a virtual machine. glibc 2.35+ can ask the kernel for transparent huge pages (2 MiB) on
those mappings, with the tunable `glibc.malloc.hugetlb=1`; the kernel's default THP mode,
`madvise`, grants them only when asked. Tunables are read when a process starts, so
`use_huge_pages()` re-executes the process once with the tunable in its environment. Keeping freed
memory in the heap instead (mallopt) also avoids the faults but fragments the heap. Measurements:
docs/PERFORMANCE.md.

Called by main.py only when it runs as a program (never on import, so `import main` or a notebook
is left alone) and by the benchmarks; skipped where JAX is set to run on an accelerator. The
re-executed process puts the user's own GLIBC_TUNABLES back in its environment at once, so the
processes it starts do not inherit the setting. AEDENOISE_MALLOC=default turns it off.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys

TUNABLE = 'glibc.malloc.hugetlb=1'
_BEFORE = 'AEDENOISE_TUNABLES_BEFORE'  # the user's GLIBC_TUNABLES, carried across the re-execution
_enabled_here = False


def _glibc_version() -> tuple[int, ...] | None:
  try:
    name, version = os.confstr('CS_GNU_LIBC_VERSION').split()  # 'glibc 2.36'
    return tuple(int(part) for part in version.split('.')[:2]) if name == 'glibc' else None
  except (AttributeError, ValueError, OSError):  # not glibc (macOS, musl)
    return None


def _hugetlb_setting() -> str | None:
  """The value of glibc.malloc.hugetlb in GLIBC_TUNABLES ('name=value:name=value'), if set."""
  for item in os.environ.get('GLIBC_TUNABLES', '').split(':'):
    name, _, value = item.partition('=')
    if name == 'glibc.malloc.hugetlb':
      return value
  return None


def huge_pages_enabled() -> bool:
  return _enabled_here or _hugetlb_setting() not in (None, '0')


def _accelerator_configured() -> bool:
  """Whether JAX will run on a GPU/TPU here: named in JAX_PLATFORMS, or a plugin is installed."""
  platforms = os.environ.get('JAX_PLATFORMS', '').lower()
  if platforms and not platforms.startswith('cpu'):
    return True
  plugins = ('jax_cuda12_plugin', 'jax_cuda13_plugin', 'jax_rocm60_plugin', 'libtpu')
  return any(importlib.util.find_spec(p) is not None for p in plugins)


def use_huge_pages() -> None:
  """Re-executes this process with `glibc.malloc.hugetlb=1` unless it has it already (or cannot
  have it). Returns only when no re-execution is needed; the process id stays the same."""
  global _enabled_here
  if _BEFORE in os.environ:  # re-executed: glibc has read the tunable; children get the original
    before = json.loads(os.environ.pop(_BEFORE))
    if before is None:
      os.environ.pop('GLIBC_TUNABLES', None)
    else:
      os.environ['GLIBC_TUNABLES'] = before
    _enabled_here = True
    return
  if (os.environ.get('AEDENOISE_MALLOC', '') == 'default' or _hugetlb_setting() is not None
      or _accelerator_configured()):
    return  # turned off, or the user chose a hugetlb setting: keep theirs
  version = _glibc_version()
  if version is None or version < (2, 35):
    return
  tunables = os.environ.get('GLIBC_TUNABLES', '')
  env = dict(os.environ, GLIBC_TUNABLES=f'{tunables}:{TUNABLE}' if tunables else TUNABLE,
             **{_BEFORE: json.dumps(os.environ.get('GLIBC_TUNABLES'))})
  sys.stdout.flush()
  sys.stderr.flush()
  try:
    os.execve(sys.executable, sys.orig_argv, env)
  except OSError:  # cannot re-execute (unusual sandboxes): run on with glibc's defaults
    return
