"""Standard denoising benchmarks on whole images: a model and the classic baselines, per set and sigma.

    python -m aedenoise.benchmark --sets=bsd68=../shared/data/bsd68 --sigma=15,25,50 \
        --baselines=bm3d,nlm --output=runs/bench [--workdir=W [--config=configs/X.py]] [--limit=N]

The convention and the work: aedenoise/evaluation/benchmark.py. Writes OUT/benchmark.{json,csv,md}.
"""
from __future__ import annotations

from absl import app, flags
from ml_collections import config_flags

from aedenoise.commands import command
from aedenoise.errors import UserError
from aedenoise.evaluation import baselines
from aedenoise.evaluation.benchmark import ModelRows, parse_sets, parse_sigmas, run_benchmark
from aedenoise.restoration import inference
from aedenoise.runtime import logs, paths
from aedenoise.runtime import workdir as workdir_lib

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The command line's flags; defined only when this module runs as a program, so that importing
  it (tests, other tools) defines nothing."""
  config_flags.DEFINE_config_file('config', None,
                                  'Config of --workdir\'s model (default: its config.json).',
                                  lock_config=True)
  flags.DEFINE_string('sets', None, 'NAME=DIR,... test sets (bsd68, set12 grey; cbsd68, kodak24, '
                      'mcmaster colour; other names take their first file\'s colour).')
  flags.DEFINE_string('sigma', '15,25,50', 'Noise levels on the 0-255 scale.')
  flags.DEFINE_string('baselines', 'bm3d', 'Classic methods (aedenoise/evaluation/baselines.py), '
                      'or all, or none.')
  flags.DEFINE_string('output', None, 'Folder for benchmark.{json,csv,md}.')
  flags.DEFINE_string('workdir', None, 'A trained model to score too (its config.json, or --config).')
  flags.DEFINE_integer('limit', 0, 'Score only the first N images of each set (0 = all).')
  flags.DEFINE_integer('workers', 0, 'Processes running the baselines (0 = one per CPU core).')
  flags.DEFINE_string('cache', None, 'Baseline cache folder (default OUT/cache).')
  flags.DEFINE_integer('seed', 0, 'Noise seed.')
  flags.DEFINE_integer('tile', 0, 'Tile size for the model (0 = whole images where they fit, '
                       'else from its geometry).')
  flags.DEFINE_integer('tile_overlap', -1, 'Tile overlap for the model (-1 = from its geometry).')
  flags.DEFINE_integer('max_memory', 0, 'Megabytes the model\'s tiles may take at once '
                       f'(0 = {inference.DEFAULT_MAX_MEMORY_MB}).')


def main(argv):
  if len(argv) > 1:
    command.usage_error(f'unexpected arguments: {" ".join(argv[1:])}')

  def run():
    if not FLAGS.output:
      raise UserError('--output is required')
    paths.check_reachable(FLAGS.output, '--output')
    if paths.path(FLAGS.output).exists() and not paths.path(FLAGS.output).is_dir():
      raise UserError(f'--output {FLAGS.output} is a file; the benchmark writes a folder')
    workdir_lib.check_outside(FLAGS.output, FLAGS.workdir, '--output', 'checkpoints')
    workdir_lib.check_not_in_run(FLAGS.output, '--output')
    for flag in ('limit', 'max_memory', 'workers'):
      if FLAGS[flag].value < 0:
        raise UserError(f'--{flag} must be 0 or more, got {FLAGS[flag].value}')
    sets = parse_sets(FLAGS.sets)
    sigmas = parse_sigmas(FLAGS.sigma)
    methods = [] if FLAGS.baselines == 'none' else baselines.parse(FLAGS.baselines)
    model = None
    if FLAGS.workdir:
      config = FLAGS.config or workdir_lib.load_config(FLAGS.workdir)
      if config is None:
        raise UserError(f'{FLAGS.workdir} holds no config.json: give the model\'s --config, '
                        f'e.g. --config=configs/single.py')
      model = ModelRows(config, FLAGS.workdir, FLAGS.tile, FLAGS.tile_overlap,
                        FLAGS.max_memory)
    with workdir_lib.RaiseOnSignals('the benchmark'):
      try:
        return run_benchmark(sets, sigmas, methods, FLAGS.output, limit=FLAGS.limit,
                             workers=FLAGS.workers, cache_dir=FLAGS.cache, seed=FLAGS.seed,
                             model=model)
      except OSError as e:  # a full disk, a folder that cannot be written
        raise UserError(f'cannot write {e.filename or FLAGS.output}: {e.strerror or e}; the '
                        f'baselines computed so far are cached, and the same command reuses '
                        f'them') from None
  logs.quiet_library_logs()
  command.run_reporting_errors(run)
  print((paths.path(FLAGS.output) / 'benchmark.md').read_text())


if __name__ == '__main__':
  define_flags()
  app.run(main, flags_parser=command.parse_flags)
