"""Convolution modules with the parameters of `flax.linen.Conv`/`ConvTranspose`, whose arithmetic is
chosen outside the model files.

A model file says only what the model is. How its convolutions are computed is an implementation,
named in `IMPLS` and chosen for a whole traced function with `using(impl)` (the trainer, evaluator
and restorer wrap their jitted functions in it, with the choice of `aedenoise/policy.py`):

* 'lax': XLA's own convolutions (cuDNN-style kernels on accelerators);
* 'matmul': the same operators as matrix products (`aedenoise/cpu/kernels.py`), fast on XLA:CPU,
  and their gradients faster still;
* 'by_shape': per layer, whichever of the two XLA:CPU runs faster forward (inference).

Parameter names, shapes and initialisers are those of `nn.Conv` and `nn.ConvTranspose`
(`transpose_kernel=False`) whatever the implementation, so parameter counts and checkpoints do not
depend on it; tests check that both give the same outputs.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
from typing import Callable, Sequence

import flax.linen as nn
from jax import lax

from aedenoise.cpu import kernels

_DN = ('NHWC', 'HWIO', 'NHWC')


def _lax_conv_transpose(x, kernel, strides, padding):
  return lax.conv_transpose(x, kernel, strides, padding, dimension_numbers=_DN)


# name -> (conv_general_dilated for nn.Conv, conv_transpose(x, kernel, strides, padding))
IMPLS: dict[str, tuple[Callable | None, Callable]] = {
    'lax': (None, _lax_conv_transpose),  # None: nn.Conv's own lax.conv_general_dilated
    'matmul': (kernels.conv_general_dilated, kernels.conv_transpose),
    'by_shape': (kernels.conv_by_shape, kernels.conv_transpose),
}
DEFAULT_IMPL = 'lax'
_current = contextvars.ContextVar('conv_impl', default=DEFAULT_IMPL)


@contextlib.contextmanager
def using(impl: str):
  """Within the block, the layers of any model being traced compute with `impl`."""
  if impl not in IMPLS:
    raise ValueError(f'conv impl must be one of {", ".join(IMPLS)}, got {impl!r}')
  token = _current.set(impl)
  try:
    yield
  finally:
    _current.reset(token)


def traced_with(impl: str, fn: Callable) -> Callable:
  """`fn` whose every trace (by `jax.jit`, `jax.eval_shape`, ...) runs under `using(impl)`: jit
  traces a function when it is first called, not where it is wrapped."""
  @functools.wraps(fn)
  def wrapped(*args, **kwargs):
    with using(impl):
      return fn(*args, **kwargs)
  return wrapped


def current_impl() -> str:
  return _current.get()


def Conv(features: int, kernel_size: Sequence[int], strides: Sequence[int] = (1, 1),  # pylint: disable=invalid-name
         padding='VALID', **kwargs) -> nn.Conv:
  """An `nn.Conv` computed by the current implementation (made when its parent is traced)."""
  return nn.Conv(features, tuple(kernel_size), tuple(strides), padding,
                 conv_general_dilated=IMPLS[current_impl()][0], **kwargs)


class ConvTranspose(nn.Module):
  """`nn.ConvTranspose` with transpose_kernel=False: same parameter names, shapes, initialisers."""
  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (1, 1)
  padding: str = 'VALID'
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  bias_init: nn.initializers.Initializer = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init,
                        tuple(self.kernel_size) + (x.shape[-1], self.features))
    y = IMPLS[current_impl()][1](x, kernel, tuple(self.strides), self.padding)
    if self.use_bias:
      y = y + self.param('bias', self.bias_init, (self.features,))
    return y


class SeparableConv(nn.Module):
  """Keras `SeparableConv2D` (depth_multiplier 1): depthwise k x k without bias, 1x1 with bias."""
  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (1, 1)
  padding: str = 'VALID'

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    x = Conv(channels, self.kernel_size, self.strides, self.padding, use_bias=False,
             feature_group_count=channels, name='depthwise')(x)
    return Conv(self.features, (1, 1), name='pointwise')(x)
