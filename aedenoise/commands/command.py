"""What every command line of the project shares (main.py, the study runner, the benchmark): flag
parsing with config errors in one line, quiet library logs, the compilation cache, and one
entry point that turns a user's mistake into one line and an exit status instead of a traceback.
"""
from __future__ import annotations

import ast
import difflib
import os
import re
import sys
import textwrap
import traceback
from typing import Callable

import jax
from absl import flags
from absl import logging as absl_logging

from aedenoise import configs
from aedenoise.errors import UserError, first_line


def default_compilation_cache() -> str:
  """$XDG_CACHE_HOME/aedenoise/jax, or ~/.cache/aedenoise/jax: shared by every workdir."""
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'aedenoise', 'jax')


def use_compilation_cache(path: str) -> None:
  """JAX's persistent cache of compiled programs in `path`, for compilations over half a second
  (the train and eval steps; not the many tiny ones, whose files would cost more than they save)."""
  jax.config.update('jax_compilation_cache_dir', path)
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)


def print_error(e: BaseException) -> None:
  absl_logging.flush()
  for line in str(e).splitlines() or ['']:  # one line per problem
    print(f'error: {line}', file=sys.stderr)


def usage_error(message: str) -> None:
  """A command line that cannot mean anything: one `error:` line and exit status 2, as for every
  other mistake in what was asked (absl's UsageError prints its usage text and exits with 1)."""
  print_error(UserError(message))
  sys.exit(2)


def run_reporting_errors(fn: Callable[[], object]) -> object:
  """Calls `fn`; a UserError (anything the user asked for that cannot work) is printed as one
  line per problem and exits with its status (2, or 128 + a signal for a stopped training);
  Ctrl-C outside training, where there is nothing to save, exits with 130."""
  try:
    return fn()
  except UserError as e:
    print_error(e)
    sys.exit(getattr(e, 'exit_code', 2))
  except KeyboardInterrupt:
    absl_logging.flush()
    print('error: interrupted', file=sys.stderr)
    sys.exit(130)
  except ImportError as e:  # an optional package this mode needs, missing from the install
    print_error(UserError(missing_package(e)))
    sys.exit(2)


def missing_package(e: ImportError) -> str:
  """One line naming the package an ImportError lacks and the install line that brings it."""
  name = getattr(e, 'name', None)
  what = f'the package {name!r} is not installed' if name else first_line(e)
  if name and name.split('.')[0] in ('tensorflow', 'tensorflow_datasets'):
    return (f'{what}: the tfds: source needs the TFDS extra, `pip install -r '
            f'requirements-tfds.txt` (installed as a package: `pip install "aedenoise[tfds]" -c '
            f'constraints.txt`)')
  return f'{what}: `pip install -r requirements.txt` installs every pinned dependency'


HELP_FLAGS = ('--help', '-h', '-?', '--helpshort', '--helpfull', '--helpxml')
CONFIGS = os.path.dirname(os.path.abspath(configs.__file__))
# Files in configs/ that configure no model of their own: the defaults, a saved config.json.
NOT_MODELS = ('__init__.py', 'default.py', 'saved.py')


def config_path(value: str) -> str:
  """`--config`'s value with its file found: as given, else among this project's configs by
  name ('dual_skip', 'configs/dual_skip.py', from any folder); a workdir's config.json through
  configs/saved.py; UserError naming the closest."""
  if value.endswith('.json') and os.path.isfile(value):  # a workdir's config.json
    return os.path.join(CONFIGS, 'saved.py') + ':' + os.path.abspath(value)
  path, colon, variant = value.partition(':')
  if os.path.isfile(path):
    return value
  name = os.path.splitext(os.path.basename(path))[0]
  known = sorted(f[:-3] for f in os.listdir(CONFIGS) if f.endswith('.py') and f not in NOT_MODELS)
  if name in known:
    return os.path.join(CONFIGS, f'{name}.py') + colon + variant
  close = difflib.get_close_matches(name, known, n=3)
  hint = f'did you mean {" or ".join(close)}?' if close else f'known: {", ".join(known)}'
  raise UserError(f'--config {path}: no such config file; {hint}')


def config_catalogue() -> list[tuple[str, str, str]]:
  """(name, summary, variants) of every config, from its docstring: the first paragraph, and the
  paragraph that starts with 'Variants' (read without importing the configs)."""
  out = []
  for name in sorted(f[:-3] for f in os.listdir(CONFIGS)
                     if f.endswith('.py') and f not in NOT_MODELS):
    with open(os.path.join(CONFIGS, f'{name}.py'), encoding='utf-8') as f:
      doc = ast.get_docstring(ast.parse(f.read())) or ''
    paragraphs = [' '.join(p.split()) for p in doc.split('\n\n') if p.strip()]
    variants = next((p for p in paragraphs if p.startswith('Variants')), '')
    variants = variants.split(':', 1)[1].strip() if ':' in variants else variants
    out.append((name, paragraphs[0] if paragraphs else '', variants.replace('`', '')))
  return out


def configs_help(width: int = 100) -> str:
  """The configs and their variants, for --help."""
  lines = ['Configs (--config=NAME[:VARIANT,...], or a config file of your own):']
  for name, summary, variants in config_catalogue():
    lines += textwrap.wrap(summary, width, initial_indent=f'  {name:<20}',
                           subsequent_indent=' ' * 22)
    if variants:
      lines += textwrap.wrap(f'variants: {variants}', width, initial_indent=' ' * 22,
                             subsequent_indent=' ' * 24)
  return '\n'.join(lines)


def _with_config_found(argv: list[str]) -> list[str]:
  out = []
  for arg in argv:
    if arg.startswith('--config='):
      arg = '--config=' + config_path(arg[len('--config='):])
    out.append(arg)
  return out


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with config errors reported in one line instead of a traceback, and
  --help (which absl ends with status 1) ending with 0."""
  try:
    try:
      argv = _with_config_found(argv)
      args = flags.FLAGS(argv)
    except SystemExit:
      if any(a in HELP_FLAGS for a in argv[1:]):
        sys.exit(0)
      raise
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
  except UserError as e:
    problem = str(e)
  except Exception as e:  # pylint: disable=broad-except
    # Whatever the config file's own code raises (ZeroDivisionError, ...) or an override naming a
    # field the config lacks (AttributeError, KeyError from ml_collections).
    problem = _raised_in_config(e, argv) or _unknown_field(e, argv)
    if problem is None:
      raise
  print(f'error: {problem}', file=sys.stderr)
  sys.exit(2)


def _config_file(argv: list[str]) -> str | None:
  """The path of the --config file on the command line (without its :ARGUMENT)."""
  for i, arg in enumerate(argv):
    if arg.startswith('--config='):
      return arg.split('=', 1)[1].split(':', 1)[0]
    if arg == '--config' and i + 1 < len(argv):
      return argv[i + 1].split(':', 1)[0]
  return None


def _raised_in_config(e: BaseException, argv: list[str]) -> str | None:
  """'cannot load the config file F: line N: Type: message' when the traceback passes through
  the config file's code; None otherwise."""
  path = _config_file(argv)
  if not path:
    return None
  real = os.path.realpath(path)
  frames = [f for f in traceback.extract_tb(e.__traceback__)
            if os.path.realpath(f.filename) == real]
  if not frames:
    return None
  return f'cannot load the config file {path}: line {frames[-1].lineno}: {first_line(e)}'


def _unknown_field(e: BaseException, argv: list[str]) -> str | None:
  """'--config.x.y: the config has no field ...' for an override naming a field it lacks."""
  if not isinstance(e, (AttributeError, KeyError)):
    return None
  found = re.search(r'[A-Za-z_]\w*', str(e))
  if found is None:
    return None
  field = found.group(0)
  bad = [a.split('=')[0] for a in argv if a.startswith('--config.') and field in a] or [field]
  hint = re.search(r'Did you mean "(\w+)"', str(e))
  return f'{bad[0]}: the config has no field {field!r}' + (
      f' (did you mean {hint.group(1)!r}?)' if hint else '')
