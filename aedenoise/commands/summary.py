"""`--mode=summary`: the model's layers with output shapes and parameter counts.

Flax's `nn.tabulate` lists every module with its inputs, outputs and variables in a rich-text
table; this table is the Keras-style one of the studies (one row per direct child: kernel and
stride, output shape, parameters) that the parameter counts in README.md are checked against.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from aedenoise.models import contract


def layer_table(model, input_shape) -> tuple[list[tuple[str, str, str, str, int]], int]:
  """Rows (name, type, kernel/stride, output shape, parameters) for the model's direct children."""
  calls = []

  def record(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    mod = context.module
    if (context.method_name == '__call__' and isinstance(mod.parent, nn.Module)
        and not isinstance(mod.parent.parent, nn.Module)):
      calls.append((mod.name, type(mod).__name__, mod, out.shape))
    return out

  with nn.intercept_methods(record):
    variables = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros(input_shape, jnp.float32))
  params = variables[contract.PARAMS]
  rows = []
  for name, kind, mod, shape in calls:
    count = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params.get(name, {})))
    geometry = ''
    if hasattr(mod, 'kernel_size'):
      strides = tuple(getattr(mod, 'strides', None) or (1,) * len(mod.kernel_size))
      geometry = f"k{'x'.join(map(str, mod.kernel_size))} s{'x'.join(map(str, strides))}"
    rows.append((name, kind, geometry, 'x'.join(map(str, shape[1:])), count))
  total = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(params))
  return rows, total


def format_table(title: str, input_shape, rows, total: int) -> str:
  header = ('layer', 'type', 'kernel', 'output', 'params')
  body = [(n, t, g, o, f'{c:,}') for n, t, g, o, c in rows]
  widths = [max(len(str(r[i])) for r in [header] + body) for i in range(5)]
  fmt = lambda r: '  '.join(str(v).rjust(w) if i == 4 else str(v).ljust(w)  # pylint: disable=g-long-lambda
                            for i, (v, w) in enumerate(zip(r, widths)))
  lines = [f"{title}: input {'x'.join(map(str, input_shape[1:]))}", fmt(header),
           '-' * (sum(widths) + 8)]
  lines += [fmt(r) for r in body]
  lines.append(f'trainable parameters: {total}')
  return '\n'.join(lines)
