"""The command line: `python main.py ...` from a checkout or, once installed, the `aedenoise`
command (`run`). Flags are defined when this module is imported."""
import importlib.metadata
import os
import sys

from absl import app, flags
from ml_collections import config_flags

from aedenoise.commands import cli, command
from aedenoise.cpu import hostenv, launch

USAGE = """aedenoise: image-restoration autoencoders in JAX/Flax.

  python main.py --config=configs/MODEL.py[:VARIANT] --workdir=DIR [--mode=MODE] [--config.a.b=v]
  aedenoise --config=MODEL[:VARIANT] ...        (installed: pip install .)

Modes (--mode):
  train     train, resuming from DIR, then evaluate (the default)
  eval      score DIR's newest checkpoint on config.data.eval (--config: DIR's config.json)
  restore   restore an image file --input, or every image under a folder, into --output
            (a folder, or a .png file), any size and channels (--config: DIR's config.json)
  summary   the model's layers and parameter count
  import    a PyTorch state dict (--input) as DIR's first checkpoint
  export    DIR's model as a file that runs with JAX alone (--output)
  package   DIR's model as a small workdir to share (--output)
  degrade   degraded copies of an image file --input or of every image under a folder
  score     PSNR/SSIM of --input's images against --reference's
Any config field is overridden with --config.FIELD=VALUE, e.g. --config.batch_size=32.
Every mode, flag and output file: `aedenoise --readme` prints the README (README.md and docs/ in
a checkout).

"""

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file('config', None, 'Config file, e.g. configs/dual_skip.py[:quick].',
                                lock_config=True)
flags.DEFINE_enum('mode', 'train', list(cli.MODES), 'What to do.')
flags.DEFINE_string('workdir', None, 'Checkpoints, metrics and evaluation outputs (train, eval, '
                    'restore, export).')
flags.DEFINE_string('input', None, 'Input folder (score, degrade, restore), or weights file (import).')
flags.DEFINE_string('output', None, 'Output folder (degrade, restore, package), or file '
                    '(export).')
flags.DEFINE_string('reference', None, 'Reference folder of clean images (score).')
flags.DEFINE_string('degradation', None, 'Preset or kind for --mode=degrade (default: the config\'s), '
                    'or applied on the fly before --mode=restore.')
flags.DEFINE_string('degradation_args', None, 'name=value,... for --degradation; a range is '
                    'lo:hi; dotted names reach into a composed preset (options.gaussian.sigma=0.1).')
flags.DEFINE_integer('seed', 0, 'Seed of --mode=degrade (and restore\'s --degradation); each image\'s '
                     'key also folds in its name.')
flags.DEFINE_bool('overwrite', False, '--mode=restore: restore again the images whose outputs a '
                  'previous run finished (by default they are kept, so a rerun does the rest).')
flags.DEFINE_integer('tile', 0, '--mode=restore: tile side in input pixels (0: the model\'s input size '
                     'for a one-size model, else each image whole where it fits in --max_memory '
                     'and 256 where not).')
flags.DEFINE_integer('tile_overlap', -1, '--mode=restore: pixels shared by neighbouring tiles (-1: a '
                     'quarter of a one-size model\'s input, else 32).')
flags.DEFINE_enum('channel_mode', 'per_channel', ['per_channel', 'luma'], '--mode=restore with a '
                  'grey model on colour photos: restore R, G and B each, or the luma only (chroma '
                  'kept as it is).')
flags.DEFINE_integer('max_memory', 0, '--mode=restore and benchmarks: megabytes the tiles '
                     'restored at once may take on the device (working memory of the model '
                     'included; 0: 512); a smaller budget means smaller batches, not other '
                     'results.')
flags.DEFINE_string('coordinator_address', '', 'host:port of process 0, for a multi-process run '
                    'started by hand (TPU pods and SLURM are detected without it).')
flags.DEFINE_integer('num_processes', 0, 'Processes in a multi-process run.')
flags.DEFINE_integer('process_id', -1, 'This process, 0..num_processes-1.')
flags.DEFINE_integer('distributed_timeout', 300, 'Seconds to wait for all processes to join.')
flags.DEFINE_integer('cpu_processes', 1, 'Train (or evaluate) on a CPU machine as this many '
                     'processes, each pinned to its own cores; faster than one process on '
                     'several cores (docs/PERFORMANCE.md). Linux.')
flags.DEFINE_string('compilation_cache', command.default_compilation_cache(),
                    'Folder of JAX\'s persistent compilation cache, so a repeated command skips '
                    'most compilation ("" turns it off).')


flags.DEFINE_bool('readme', False, 'Print the README (installed: from the package\'s metadata).')


def readme() -> str:
  """The README: the checkout's, or else the installed package's long description."""
  here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'README.md')
  if os.path.isfile(here):
    with open(here, encoding='utf-8') as f:
      return f.read()
  try:
    return importlib.metadata.metadata('aedenoise').get_payload() or ''
  except importlib.metadata.PackageNotFoundError:
    return ''


def main(argv):
  """Runs one mode (--mode) with the parsed flags."""
  if len(argv) > 1:
    command.usage_error(f'unexpected arguments: {" ".join(argv[1:])}')
  if FLAGS.readme:
    print(readme() or 'error: no README found in this installation', end='')
    return
  if FLAGS.cpu_processes != 1:
    sys.exit(command.run_reporting_errors(lambda: cli.launch_processes(FLAGS, sys.argv)))
  command.run_reporting_errors(lambda: cli.run(FLAGS.mode, FLAGS.config, FLAGS))


def start() -> None:
  """Parses the command line and runs `main`; --help shows USAGE."""
  sys.modules['__main__'].__doc__ = USAGE + command.configs_help() + '\n'

  app.run(main, flags_parser=command.parse_flags)


def run() -> None:
  """The installed `aedenoise` command: as main.py, from any folder."""
  launch.take_assigned_cpus()  # in a process started by --cpu_processes
  hostenv.use_huge_pages()  # may re-execute this process once
  start()
