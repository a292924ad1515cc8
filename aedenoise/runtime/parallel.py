"""Devices and hosts: one 1-D ('data',) mesh, batch sharded along it, state replicated.

Everything about devices lives here; models and the step are written for one (global) batch and
`jax.jit` partitions them. The same code runs on 1 CPU, N devices and many hosts.
"""
from __future__ import annotations

import os
import sys
import threading

import jax
import jax.numpy as jnp
import numpy as np
from absl import logging
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

from aedenoise.cpu import launch
from aedenoise.errors import UserError, first_line


def initialize_distributed(coordinator_address: str = '', num_processes: int = 0,
                           process_id: int = -1, timeout_s: int = 300) -> None:
  """Joins a multi-process run: explicit flags for a local test, else auto-detection (TPU pods,
  SLURM) when the environment names a cluster. A single process needs nothing. Peers that do not
  join within `timeout_s` end the run with one line. A process started by `--cpu_processes`
  (aedenoise/cpu/launch.py) takes its place from the launcher."""
  launched = launch.assignment()
  if launched and not coordinator_address:
    process_id, num_processes, coordinator_address = launched
  if coordinator_address:
    if num_processes < 2 or not 0 <= process_id < num_processes:
      raise UserError(f'--coordinator_address needs --num_processes >= 2 and --process_id in '
                      f'0..{max(num_processes - 1, 0)}; got {num_processes} and {process_id}')
    logging.info('process %d of %d: waiting up to %d s for the others at %s', process_id,
                 num_processes, timeout_s, coordinator_address)
    message = (f'the {num_processes} processes did not all join at {coordinator_address} within '
               f'{timeout_s} s; start every process with the same --coordinator_address and '
               f'--num_processes, or raise --distributed_timeout')
    # JAX aborts the whole process (a fatal check in its C++ client) when its own timeout passes,
    # which no Python handler can turn into a message: a watchdog exits first, with one line.
    joined = threading.Event()
    watchdog = threading.Timer(timeout_s, lambda: joined.is_set() or _exit_with(message))
    watchdog.daemon = True
    watchdog.start()
    try:
      jax.distributed.initialize(coordinator_address=coordinator_address,
                                 num_processes=num_processes, process_id=process_id,
                                 initialization_timeout=timeout_s + 60)
    except Exception as e:  # pylint: disable=broad-except
      raise UserError(f'{message} ({first_line(e)})') from None
    finally:
      joined.set()
      watchdog.cancel()
  else:
    cluster = multi_process_environment(os.environ)
    if cluster:
      logging.info('multi-process run (%s): joining the other processes', cluster)
      jax.distributed.initialize()
  if jax.process_count() > 1:
    logging.info('process %d of %d, %d local / %d global devices', jax.process_index(),
                 jax.process_count(), jax.local_device_count(), jax.device_count())


def multi_process_environment(env) -> str:
  """What in the environment says this is one of several processes ('' if nothing does): a
  SLURM step of more than one task, or a TPU slice of more than one host."""
  tasks = env.get('SLURM_STEP_NUM_TASKS') or env.get('SLURM_NTASKS') or '1'
  if 'SLURM_JOB_ID' in env and tasks.isdigit() and int(tasks) > 1:
    return f'SLURM, {tasks} tasks'
  hosts = [h for h in env.get('TPU_WORKER_HOSTNAMES', '').split(',') if h.strip()]
  if len(hosts) > 1:
    return f'TPU slice, {len(hosts)} hosts'
  if env.get('MEGASCALE_COORDINATOR_ADDRESS'):
    return 'multislice TPU'
  return ''


def _exit_with(message: str) -> None:
  sys.stdout.flush()
  print(f'error: {message}', file=sys.stderr, flush=True)
  os._exit(2)  # pylint: disable=protected-access


def create_mesh(devices=None) -> Mesh:
  """All devices (or the given ones) on one 'data' axis."""
  devices = jax.devices() if devices is None else list(devices)
  return jax.make_mesh((len(devices),), ('data',), axis_types=(AxisType.Auto,), devices=devices)


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P('data'))


def split_micro(x, n: int, mesh: Mesh | None):
  """[B, ...] -> [n, B/n, ...]. Micro-batch j holds rows j, j+n, j+2n, ... of the batch, so every
  device keeps its own rows and nothing moves between devices."""
  x = x.reshape(x.shape[0] // n, n, *x.shape[1:]).swapaxes(0, 1)
  if mesh is None:
    return x
  return jax.lax.with_sharding_constraint(x, NamedSharding(mesh, P(None, 'data')))


def on_each_device(fn, mesh: Mesh | None, shared, *xs):
  """fn(index, shared, *local_xs) on each device of the 'data' axis: `shared` is replicated (the
  parameters, say), the xs are [n, B/n, ...] micro-batches (`split_micro`) of which local_xs
  are the device's own rows, and index is the device's place on the axis (None with one device).
  Returns fn's outputs stacked over the devices on a new leading axis, so that partial results
  (sums of gradients) stay where they were computed until the caller combines them, once."""
  stack = lambda tree: jax.tree.map(lambda v: v[None], tree)
  if mesh is None or mesh.shape['data'] == 1:
    return stack(fn(None, shared, *xs))
  local = lambda index, shared, *xs: stack(fn(index[0], shared, *xs))
  # check_vma=False: inside, a parameter's gradient differs between devices while the parameter
  # does not, which the custom VJPs of aedenoise/cpu/kernels.py would otherwise have to declare.
  return jax.shard_map(local, mesh=mesh, in_specs=(P('data'), P()) + (P(None, 'data'),) * len(xs),
                       out_specs=P('data'), check_vma=False)(
                           jnp.arange(mesh.shape['data']), shared, *xs)


def on_each_shard(fn, mesh: Mesh | None, *xs):
  """fn(*local_xs) on each device's own rows of the batch-sharded xs, without moving them: for
  work that the partitioner would otherwise gather first (a `lax.map` over the batch axis)."""
  if mesh is None or mesh.shape['data'] == 1:
    return fn(*xs)
  return jax.shard_map(fn, mesh=mesh, in_specs=(P('data'),) * len(xs), out_specs=P('data'))(*xs)


def merge_micro(x):
  """The inverse of `split_micro`: [n, B/n, ...] -> [B, ...] in the batch's row order."""
  return x.swapaxes(0, 1).reshape(x.shape[0] * x.shape[1], *x.shape[2:])


def check_batch_size(batch_size: int, mesh: Mesh, what: str = 'batch_size') -> None:
  n = mesh.devices.size
  if batch_size % n:
    raise UserError(f'{what} {batch_size} is not divisible by the {n} devices; '
                    f'use a multiple of {n}')


def to_global(local_batch, sharding: NamedSharding):
  """This process's rows of a global batch (an array or a dict of them) -> global arrays, sharded
  over the mesh."""
  return jax.tree.map(lambda x: jax.make_array_from_process_local_data(sharding, x), local_batch)


def is_main_process() -> bool:
  return jax.process_index() == 0


def max_over_processes(value: int) -> jax.Array:
  """The largest of every process's `value`, as a scalar on the devices, without waiting for it:
  read it a step later and the loop keeps its pipeline (see train.run_loop)."""
  mesh = create_mesh()
  local = np.full((jax.local_device_count(),), value, np.int32)
  return _max_of(jax.make_array_from_process_local_data(batch_sharding(mesh), local))


@jax.jit
def _max_of(x):
  return x.max()


def agree(value: int) -> int:
  """Process 0's `value` on every process: hosts that share no disk read their own copies of a
  workdir file, and must still take the same decision."""
  if jax.process_count() == 1:
    return value
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  return int(multihost_utils.broadcast_one_to_all(np.int32(value)))


def physical_memory() -> int:
  """Bytes of memory this machine has (a large number where the OS does not say)."""
  try:
    return os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
  except (ValueError, OSError, AttributeError):
    return 1 << 62
