"""A study's results by one command: every run trained and scored, then its table beside the
paper's and its figures.

    python -m aedenoise.study --list
    python -m aedenoise.study NAME --workdir=W [--budget=smoke|reduced|full] [--data_dir=D]

The runner is aedenoise/studies/runner.py; the studies, one file each, aedenoise/studies/.
"""
from __future__ import annotations

import os

from aedenoise.cpu import hostenv

if __name__ == '__main__':
  hostenv.use_huge_pages()  # may re-execute this process once, before anything heavy is imported

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import app, flags

from aedenoise.commands import command
from aedenoise.errors import UserError
from aedenoise.runtime import logs, paths
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.studies import STUDIES, definition
from aedenoise.studies.runner import get_study, run_study

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defined only when this module runs as a program, so that importing it defines nothing."""
  flags.DEFINE_bool('list', False, 'Print the study names, one per line, and exit.')
  flags.DEFINE_string('workdir', None, 'The study\'s folder: one workdir per run, and the reports.')
  flags.DEFINE_enum('budget', 'reduced', definition.BUDGETS, 'smoke: minutes, checks the plumbing; '
                    'reduced: the best reproduction a CPU affords; full: the paper\'s recipe.')
  flags.DEFINE_string('data_dir', os.environ.get('AEDENOISE_DATA', os.path.join('..', 'shared',
                                                                                 'data')),
                      'Folder holding the datasets the studies read (utkface_faces/, ...); '
                      'default $AEDENOISE_DATA or ../shared/data.')
  flags.DEFINE_string('compilation_cache', command.default_compilation_cache(),
                      'Folder of JAX\'s persistent compilation cache ("" turns it off).')


def main(argv):
  if FLAGS.list:
    print('\n'.join(STUDIES))
    return

  def run():
    if len(argv) != 2:
      raise UserError('name one study, e.g. python -m aedenoise.study dual_autoencoders '
                      '--workdir=W (--list names them)')
    study = get_study(argv[1])
    if not FLAGS.workdir:
      raise UserError('--workdir is required')
    paths.check_reachable(FLAGS.workdir, '--workdir')
    logs.quiet_library_logs()
    if FLAGS.compilation_cache:
      command.use_compilation_cache(FLAGS.compilation_cache)
    with workdir_lib.RaiseOnSignals(f'the study {study.name}'):  # scoring: one line, 128 + N
      rows = run_study(study, FLAGS.workdir, FLAGS.budget, FLAGS.data_dir)
    print((paths.path(FLAGS.workdir) / 'study.md').read_text())
    return rows
  command.run_reporting_errors(run)


if __name__ == '__main__':
  define_flags()
  app.run(main, flags_parser=command.parse_flags)
