"""Library logs kept out of a user's way: the INFO lines of libraries that narrate every step
(Orbax's saves, JAX's TPU probe, matplotlib), and Orbax's warnings that merely repeat that a
reader opened checkpoints read-only (every load of a shipped model would print one)."""
import logging

from absl import logging as absl_logging


class _LibraryInfoFilter(logging.Filter):
  """Drops INFO records of libraries that narrate every step (Orbax's saves, JAX's TPU probe),
  and Orbax's warnings that merely repeat that a reader opened checkpoints read-only."""
  NOISY = ('/orbax/', '/jax/_src/xla_bridge.py', '/matplotlib/')
  READ_ONLY = ('Given directory is read only', 'CheckpointManagerOptions.read_only=True')

  def filter(self, record):
    if '/orbax/' in record.pathname and str(record.msg).startswith(self.READ_ONLY):
      return False
    return record.levelno >= logging.WARNING or not any(n in record.pathname for n in self.NOISY)


_FILTER = _LibraryInfoFilter()


def quiet_library_logs() -> None:
  """Installs the filter on absl's handler (command lines) and on the 'absl' logger itself
  (the Python API, where absl's handler is not in use); idempotent."""
  for target in (absl_logging.get_absl_handler(), logging.getLogger('absl')):
    if _FILTER not in target.filters:
      target.addFilter(_FILTER)
