"""The platform policy: every choice that depends on the backend JAX runs on, in one place.

The same program is right on every backend; these choices only make it fast there. Each was
measured (docs/PERFORMANCE.md); an accelerator keeps the straightforward XLA formulation.

| choice | CPU | GPU, TPU |
|---|---|---|
| convolutions (`conv_impl='auto'`) | 'matmul' (aedenoise/cpu/kernels.py) | 'lax' |
| convolutions of inference (restore, the API, the benchmark) | 'by_shape' | 'lax' |
| images per device in one pass (`micro_batch_size='auto'`) | 1 | the whole batch |
| a `one_of` degradation in training | image by image (`lax.map`) | vectorised (`vmap`) |
| SSIM's Gaussian window on small images | banded matrix products | dm-pix's convolutions |

Models with state collections (BatchNorm) always take the whole batch in one pass: their
statistics are over the batch. A number given for `micro_batch_size` is used on every backend.
"""
from __future__ import annotations

import jax

from aedenoise.errors import UserError
from aedenoise.models import layers

AUTO = 'auto'
CONV_IMPLS = (AUTO, *layers.IMPLS)
# Largest image side for which the banded-matrix SSIM window is used (its matrices grow as H^2).
MATMUL_SSIM_MAX_SIDE = 256


def backend() -> str:
  """'cpu', 'gpu' or 'tpu': the platform of JAX's default devices."""
  return jax.default_backend()


def on_cpu() -> bool:
  return backend() == 'cpu'


def conv_impl(setting: str = AUTO) -> str:
  """The convolution implementation for `config.conv_impl` ('auto' or a name in layers.IMPLS)."""
  if setting == AUTO:
    return 'matmul' if on_cpu() else 'lax'
  if setting not in layers.IMPLS:
    raise UserError(f'conv_impl must be one of {", ".join(CONV_IMPLS)}, got {setting!r}')
  return setting


def inference_conv_impl(setting: str = AUTO) -> str:
  """The convolution implementation of inference for `config.conv_impl`: 'auto' is 'by_shape' on
  the CPU (no gradients: each layer takes its faster forward pass), 'lax' elsewhere; a name is
  itself."""
  if setting == AUTO:
    return 'by_shape' if on_cpu() else 'lax'
  return conv_impl(setting)


def traced_with_conv_impl(fn, setting: str = AUTO):
  """`fn`, traced (by jit, eval_shape, ...) with the convolutions `conv_impl(setting)` names."""
  return layers.traced_with(conv_impl(setting), fn)


def jit(fn, setting: str, **jit_kwargs):
  """`jax.jit` of a function that applies a model, its convolutions those `setting` names
  (config.conv_impl, or an implementation). Every jit of model code goes through here
  (tests/test_layout.py holds the package to it), so none runs a default by omission."""
  return jax.jit(traced_with_conv_impl(fn, setting), **jit_kwargs)


def micro_batches(setting, batch: int, devices: int, has_state: bool) -> int:
  """How many passes the step splits a global batch of `batch` images into (1 = one pass).

  `setting` is config.micro_batch_size: images per device in one forward/backward pass; 0 = the
  whole batch at once; 'auto' = 1 on the CPU (its caches hold one image's activations, not a
  batch's) and the whole batch elsewhere. A model with state collections (BatchNorm statistics,
  taken over the whole batch) always runs in one pass ('auto') or is refused (a number)."""
  per_device = batch // devices
  if setting == AUTO:
    return 1 if has_state or not on_cpu() else per_device
  size = int(setting)
  if not size or size >= per_device:
    return 1
  if has_state:
    raise UserError(f'micro_batch_size {size}: this model keeps batch statistics (BatchNorm), '
                    f'which are taken over the whole batch; use micro_batch_size 0')
  if per_device % size:
    raise UserError(f'micro_batch_size {size} does not divide the {per_device} images per device '
                    f'(batch {batch} on {devices} devices)')
  return per_device // size


def one_of_image_by_image() -> bool:
  """Whether a training batch's one_of degradation runs image by image: vectorised, its
  `lax.switch` becomes a select that computes every option for every image, several times the
  work, which an accelerator absorbs and a CPU pays for."""
  return on_cpu()


def ssim_window_by_matmul(height: int, width: int) -> bool:
  """Whether SSIM's separable Gaussian window is computed as two banded matrix products (the same
  sums, far faster on a CPU for small images) instead of dm-pix's 1-D convolutions."""
  return on_cpu() and max(height, width) <= MATMUL_SSIM_MAX_SIDE
