"""The modes behind main.py: each checks its flags, then calls one library function."""
from __future__ import annotations

import logging
import os
import sys

from aedenoise.degradations import DegradationError
from aedenoise.errors import UserError
from input_pipeline import DataError, SourceError

MODES = ('train', 'eval', 'summary', 'score', 'degrade', 'import', 'restore')
# Errors caused by what the user asked for: printed as one line, exit status 2.
USER_ERRORS = (UserError, DegradationError, SourceError, DataError)


class _LibraryInfoFilter(logging.Filter):
  """Drops INFO records of libraries that narrate every step (Orbax's saves, JAX's TPU probe)."""
  NOISY = ('/orbax/', '/jax/_src/xla_bridge.py', '/matplotlib/')

  def filter(self, record):
    return record.levelno >= logging.WARNING or not any(n in record.pathname for n in self.NOISY)


def _quiet_library_logs():
  from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
  absl_logging.get_absl_handler().addFilter(_LibraryInfoFilter())


def _require(flags, *names):
  missing = [f'--{n}' for n in names if not getattr(flags, n)]
  if missing:
    raise UserError(f'--mode={flags.mode} needs {" and ".join(missing)}')


def _config(config, workdir: str | None = None):
  """The config given, or else the one the workdir's newest run was trained with."""
  if config is not None:
    return config
  if workdir:
    from aedenoise import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
    found = workdir_lib.load_config(workdir)
    if found is not None:
      return found
  raise UserError('--config is required, e.g. --config=configs/dual_skip.py (eval can also read '
                  'the config.json of a --workdir that holds one)')


def default_compilation_cache() -> str:
  """$XDG_CACHE_HOME/aedenoise/jax, or ~/.cache/aedenoise/jax: shared by every workdir."""
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'aedenoise', 'jax')


def use_compilation_cache(path: str) -> None:
  """JAX's persistent cache of compiled programs in `path`, for compilations over half a second
  (the train and eval steps; not the many tiny ones, whose files would cost more than they save)."""
  import jax  # pylint: disable=g-import-not-at-top
  jax.config.update('jax_compilation_cache_dir', path)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)


def launch_processes(flags, argv: list[str]) -> int:
  """`--cpu_processes=N`: the same command as N pinned processes of one run (aedenoise/launch.py);
  returns the exit code."""
  from aedenoise import launch  # pylint: disable=g-import-not-at-top
  n = int(flags.cpu_processes)
  if flags.mode not in ('train', 'eval'):
    raise UserError(f'--cpu_processes is for --mode=train or eval, not {flags.mode}')
  if flags.coordinator_address or flags.num_processes:
    raise UserError('--cpu_processes starts its own processes; leave out --coordinator_address '
                    'and --num_processes')
  if os.environ.get('JAX_PLATFORMS', 'cpu').split(',')[0] not in ('cpu', ''):
    raise UserError('--cpu_processes is for CPU machines (JAX_PLATFORMS names an accelerator)')
  _require(flags, 'workdir')
  return launch.run(n, launch.without_flag(argv, 'cpu_processes'))


def run(mode: str, config, flags) -> None:
  _quiet_library_logs()
  if getattr(flags, 'compilation_cache', ''):
    use_compilation_cache(flags.compilation_cache)
  # Imported here so that `--help` and flag errors do not pay for importing JAX.
  from aedenoise import metrics, parallel, scoring, state, summary, train  # pylint: disable=g-import-not-at-top

  if mode == 'degrade':
    from aedenoise import degrade_files  # pylint: disable=g-import-not-at-top
    _require(flags, 'input', 'output')
    degrade_files.run(flags, config)
    return
  if mode == 'score':
    _require(flags, 'input', 'reference')
    conv = metrics.Convention.from_config(config.eval) if config is not None else metrics.Convention()
    scoring.score_folders(flags.input, flags.reference, conv)
    return
  config = _config(config, flags.workdir if mode in ('eval', 'summary') else None)
  if mode == 'summary':
    state.validate(config)
    model = state.create_model(config)
    shape = state.input_shape(config)
    rows, total = summary.layer_table(model, shape)
    print(summary.format_table(config.model, shape, rows, total))
    return
  _require(flags, 'workdir')
  parallel.initialize_distributed(flags.coordinator_address, flags.num_processes, flags.process_id,
                                  flags.distributed_timeout)
  if mode == 'train':
    train.train_and_evaluate(config, flags.workdir)
  elif mode == 'eval':
    train.evaluate_checkpoint(config, flags.workdir)
  elif mode == 'restore':
    from aedenoise import restore  # pylint: disable=g-import-not-at-top
    _require(flags, 'input', 'output')
    restore.run(flags, config)
  elif mode == 'import':
    from aedenoise import importing  # pylint: disable=g-import-not-at-top
    _require(flags, 'input')
    importing.import_torch_weights(config, flags.workdir, flags.input)
  else:
    raise UserError(f'unknown mode {mode!r}')


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with config errors reported in one line instead of a traceback."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  try:
    args = flags.FLAGS(argv)
    config = flags.FLAGS['config'].value if 'config' in flags.FLAGS else None
    if config is not None:
      config.get('model')  # a config file that failed to load raises only when first used
    return args
  except flags.Error as e:
    lines = [l.strip() for l in str(e).strip().splitlines() if l.strip()]
    # A config file that raises is reported with its whole traceback; its last line is the cause.
    problem = lines[0] if len(lines) == 1 else f'{lines[0]} {lines[-1]}'
  except OSError as e:  # the config file does not load
    problem = f'cannot load the config file: {str(e).strip().splitlines()[-1].strip()}'
  except (SyntaxError, ImportError) as e:  # the config file itself does not compile or import
    where = f' (line {e.lineno})' if isinstance(e, SyntaxError) and e.lineno else ''
    text = e.msg if isinstance(e, SyntaxError) else str(e)
    problem = f'cannot load the config file: {type(e).__name__}: {text}{where}'
  except (AttributeError, KeyError) as e:  # an override naming a field the config lacks
    import re  # pylint: disable=g-import-not-at-top
    field = re.search(r'[A-Za-z_]\w*', str(e)).group(0)
    bad = [a.split('=')[0] for a in argv if a.startswith('--config.') and field in a] or [field]
    hint = re.search(r'Did you mean "(\w+)"', str(e))
    problem = f'{bad[0]}: the config has no field {field!r}' + (
        f' (did you mean {hint.group(1)!r}?)' if hint else '')
  print(f'error: {problem}', file=sys.stderr)
  sys.exit(2)
