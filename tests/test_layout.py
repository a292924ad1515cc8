"""The README's Layout section is the import graph's truth: every module of the package lies under
one of its entries, and every import (at the top of a module or inside a function) goes from an
entry to itself or to one listed below it."""
import ast
import os
import re

from conftest import ROOT

# Links in the repository that put configs/ and input_pipeline/ inside the package.
LINKED = {'aedenoise/configs/': 'configs/', 'aedenoise/input_pipeline/': 'input_pipeline/'}
MAX_ROOT_MODULES = 15
MAX_LINES = 400


def _layout_entries() -> list[str]:
  text = open(os.path.join(ROOT, 'README.md'), encoding='utf-8').read()
  section = text[text.index('## Layout'):]
  block = re.search(r'```\n(.*?)```', section, re.S).group(1)
  return [line.split()[0] for line in block.splitlines() if line and not line[0].isspace()]


def _modules() -> dict[str, str]:
  """{dotted module name: repository path (configs/ and input_pipeline/ as they lie)}."""
  out = {'main': 'main.py'}
  package = os.path.join(ROOT, 'aedenoise')
  for folder, dirs, files in os.walk(package, followlinks=True):
    dirs[:] = sorted(d for d in dirs if d != '__pycache__')
    for name in files:
      if not name.endswith('.py'):
        continue
      rel = os.path.relpath(os.path.join(folder, name), ROOT).replace(os.sep, '/')
      dotted = rel[:-3].replace('/', '.').removesuffix('.__init__')
      for link, target in LINKED.items():
        if rel.startswith(link):
          rel = target + rel[len(link):]
      out[dotted] = rel
  return out


def _imports(modules: dict[str, str]):
  """(importer, imported) pairs between the project's modules, every import statement counted."""
  for name, rel in modules.items():
    tree = ast.parse(open(os.path.join(ROOT, rel), encoding='utf-8').read())
    package = name if rel.endswith('__init__.py') else name.rpartition('.')[0]
    for node in ast.walk(tree):
      if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
      elif isinstance(node, ast.ImportFrom):
        base = node.module or ''
        if node.level:
          parts = package.split('.')[:len(package.split('.')) - node.level + 1]
          base = '.'.join(parts + ([base] if base else []))
        targets = [f'{base}.{a.name}' if f'{base}.{a.name}' in modules else base
                   for a in node.names]
      else:
        continue
      for target in targets:
        while target and target not in modules:  # `import aedenoise.x.y` names its module
          target = target.rpartition('.')[0]
        if target and target != name:
          yield name, target


def _entry(path: str, entries: list[str]) -> int | None:
  found = [i for i, e in enumerate(entries)
           if path == e or (e.endswith('/') and path.startswith(e))]
  return max(found, key=lambda i: len(entries[i])) if found else None


def test_every_module_is_on_the_layout_and_imports_go_down():
  entries = _layout_entries()
  modules = _modules()
  where = {name: _entry(rel, entries) for name, rel in modules.items()}
  missing = sorted(rel for name, rel in modules.items() if where[name] is None)
  assert not missing, f'modules the README Layout does not list: {missing}'
  upward = sorted(f'{a} ({entries[where[a]]}) imports {b} ({entries[where[b]]})'
                  for a, b in set(_imports(modules)) if where[a] > where[b])
  assert not upward, '\n'.join(upward)


def test_the_root_is_a_few_rooms_of_short_modules():
  root = [f for f in os.listdir(os.path.join(ROOT, 'aedenoise')) if f.endswith('.py')]
  assert len(root) <= MAX_ROOT_MODULES, sorted(root)
  long = {rel: n for rel in _modules().values()
          if (n := sum(1 for _ in open(os.path.join(ROOT, rel), encoding='utf-8'))) > MAX_LINES}
  assert not long, long


def test_the_layout_lists_what_exists():
  for entry in _layout_entries():
    assert os.path.exists(os.path.join(ROOT, entry)), entry


# jax.jit of code that applies no model of the project, so needs no convolution implementation;
# any other jit goes through the task's `jit` (aedenoise/build.py), which names the task's own.
JIT_WITHOUT_MODEL = {
    'aedenoise/policy.py': 1,                       # policy.jit itself
    'aedenoise/runtime/parallel.py': 1,             # a sharding helper
    'aedenoise/restoration/degrade_files.py': 1,    # a degradation
    'aedenoise/evaluation/evaluate_whole.py': 1,    # a degradation
    'aedenoise/evaluation/scoring.py': 1,           # PSNR and SSIM
    'aedenoise/studies/cifar_autoencoders.py': 1,   # a degradation
    'aedenoise/studies/classifier.py': 2,           # the study's own flax classifier
}


def test_every_jit_of_model_code_names_its_convolutions():
  found = {}
  for rel in _modules().values():
    tree = ast.parse(open(os.path.join(ROOT, rel), encoding='utf-8').read())
    for node in ast.walk(tree):
      jit = (isinstance(node, ast.Attribute) and node.attr == 'jit' and
             isinstance(node.value, ast.Name) and node.value.id == 'jax')
      imported = isinstance(node, ast.ImportFrom) and node.module == 'jax' and any(
          a.name == 'jit' for a in node.names)
      if jit or imported:
        found[rel] = found.get(rel, 0) + 1
  assert found == JIT_WITHOUT_MODEL


# policy.jit and policy.traced_with_conv_impl name a convolution implementation; only the task
# (its `jit` and `traced`) and export (a fixed, portable implementation for every platform) call
# them, so no door picks one of its own.
POLICY_JIT_CALLERS = {'aedenoise/build.py': 2, 'aedenoise/restoration/export.py': 1}


def test_model_code_is_jitted_by_its_task():
  found = {}
  for rel in _modules().values():
    tree = ast.parse(open(os.path.join(ROOT, rel), encoding='utf-8').read())
    for node in ast.walk(tree):
      if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and
          node.func.attr in ('jit', 'traced_with_conv_impl') and
          isinstance(node.func.value, ast.Name) and node.func.value.id == 'policy'):
        found[rel] = found.get(rel, 0) + 1
  found_traced = {rel for rel in _modules().values()
                  if 'layers.traced_with(' in open(os.path.join(ROOT, rel), encoding='utf-8').read()}
  assert found == POLICY_JIT_CALLERS
  assert found_traced <= {'aedenoise/policy.py', 'aedenoise/restoration/export.py'}, found_traced
