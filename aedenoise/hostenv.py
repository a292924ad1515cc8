"""Process-level settings that must be made before JAX starts its threads.

`tune_malloc()` configures glibc's allocator for XLA:CPU. XLA's CPU runtime allocates and frees
large temporary buffers every step (one dual_skip step at batch 16 touches hundreds of MB); with glibc's defaults each one is a fresh `mmap` (or a trimmed heap) whose pages
fault in again on first touch, and page faults are expensive on virtual machines. Keeping freed
memory in one arena (no per-thread arenas, no mmap for large blocks, and no trimming at all: -1, as
`man mallopt` documents; a finite threshold, even 2 GiB, is crossed when a few steps are queued
and the heap is then trimmed and faulted in again) reuses the pages instead. Measured on a 2-core
VM with `configs/dual_skip.py:quick`: glibc defaults 0.64 s per step in isolation; a 2 GiB
threshold 0.45 s in isolation but 0.83 s in the real loop (about 200,000 page faults per step);
-1: 0.48 s in the loop (no page faults after the first steps), and the quick run takes 3m41s
instead of 5m51s. The cost is that the process keeps its peak heap (5.7 GB for the quick run).

Called at the top of main.py, the benchmarks and the tests. Set AEDENOISE_MALLOC=default to skip.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt parameter numbers from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8


def tune_malloc() -> bool:
  """Applies the allocator settings above; returns whether they were applied."""
  if os.environ.get('AEDENOISE_MALLOC', '') == 'default' or not sys.platform.startswith('linux'):
    return False
  try:
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    mallopt = libc.mallopt
  except (OSError, AttributeError):  # musl and other libcs have no mallopt
    return False
  mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
  ok = mallopt(_M_ARENA_MAX, 1) and mallopt(_M_MMAP_MAX, 0)
  return bool(ok and mallopt(_M_TRIM_THRESHOLD, -1))
