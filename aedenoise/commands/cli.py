"""The modes behind main.py: each checks its flags, then calls one library function."""
from __future__ import annotations

import os

from aedenoise import metrics, validation
from aedenoise.commands import command, summary
from aedenoise.cpu import launch
from aedenoise.errors import UserError
from aedenoise.evaluation import evaluate_checkpoint, scoring
from aedenoise.restoration import degrade_files, export, package, restore
from aedenoise.runtime import logs, parallel, paths
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.training import importing, train

MODES = ('train', 'eval', 'summary', 'score', 'degrade', 'import', 'restore', 'export',
         'package')
# Modes that read the model's config from --workdir's config.json when --config is left out.
CONFIG_FROM_WORKDIR = ('eval', 'summary', 'restore', 'export', 'package')


def _require(flags, *names):
  missing = [f'--{n}' for n in names if not getattr(flags, n)]
  if missing:
    raise UserError(f'--mode={flags.mode} needs {" and ".join(missing)}')


def _config(config, mode: str, workdir: str | None = None):
  """The config given, or else the one the workdir's newest run was trained with; a UserError
  naming the flag that is missing."""
  if config is not None:
    return config
  if mode not in CONFIG_FROM_WORKDIR:
    raise UserError(f'--mode={mode} needs --config, e.g. --config=configs/dual_skip.py '
                    f'(or --config=dual_skip)')
  if not workdir:
    needs = '--workdir' if mode != 'summary' else '--config or --workdir'
    raise UserError(f'--mode={mode} needs {needs}: a workdir holds the model and its config.json '
                    f'(e.g. --workdir=pretrained/unet_grey_blind)')
  found = workdir_lib.load_config(workdir)
  if found is None:
    raise UserError(f'--workdir {workdir} holds no config.json; give the model\'s config too, '
                    f'e.g. --config=configs/dual_skip.py')
  return found


def launch_processes(flags, argv: list[str]) -> int:
  """`--cpu_processes=N`: the same command as N pinned processes of one run
  (aedenoise/cpu/launch.py); returns the exit code."""
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
  logs.quiet_library_logs()
  if getattr(flags, 'compilation_cache', ''):
    command.use_compilation_cache(flags.compilation_cache)
  if mode == 'train':  # saves a checkpoint at the step a signal reaches (train.run_loop)
    _run(mode, config, flags)
    return
  with workdir_lib.RaiseOnSignals(f'--mode={mode}'):
    _run(mode, config, flags)


def _run(mode: str, config, flags) -> None:
  for flag in ('workdir', 'output'):
    paths.check_reachable(getattr(flags, flag, None), f'--{flag}')
  if mode == 'degrade':
    _require(flags, 'input', 'output')
    degrade_files.run(flags, config)
    return
  if mode == 'score':
    _require(flags, 'input', 'reference')
    conv = metrics.Convention.from_config(config.eval) if config is not None else metrics.Convention()
    scoring.score_folders(flags.input, flags.reference, conv)
    return
  config = _config(config, mode, flags.workdir)
  if mode == 'summary':
    task = validation.validate(config)
    rows, total = summary.layer_table(task.model, task.input_shape())
    print(summary.format_table(task.label, task.input_shape(), rows, total))
    return
  _require(flags, 'workdir')
  parallel.initialize_distributed(flags.coordinator_address, flags.num_processes, flags.process_id,
                                  flags.distributed_timeout)
  if mode == 'train':
    train.train_and_evaluate(config, flags.workdir)
  elif mode == 'eval':
    evaluate_checkpoint.run(config, flags.workdir)
  elif mode == 'restore':
    _require(flags, 'input', 'output')
    restore.run(flags, config)
  elif mode == 'export':
    _require(flags, 'output')
    export.run(flags, config)
  elif mode == 'import':
    _require(flags, 'input')
    importing.import_torch_weights(config, flags.workdir, flags.input)
  elif mode == 'package':
    _require(flags, 'output')
    package.package(config, flags.workdir, flags.output)
  else:
    raise UserError(f'unknown mode {mode!r}')
