"""Convolutions as 2-D matrix products, for XLA:CPU: the `matmul` convolution implementation.

Why: XLA:CPU lowers convolutions to kernels whose gradients are slow, worst for strided and
transposed ones (the kernel gradient of a stride-2 transposed convolution runs many times slower
than its forward pass). A convolution is also a matrix product over image patches (im2col), and the
gradients of a matrix product are matrix products, which XLA:CPU runs fast. So:

* a convolution of any stride gathers its k*k strided patches and does one matmul;
* a depthwise convolution (separable layers) is a sum of k*k shifted, scaled copies;
* a transposed convolution of stride s is split into its s*s output phases (sub-pixel
  decomposition), each an ordinary convolution of the undilated input with a sub-kernel; at stride 1
  with fewer output than input channels it is one matmul followed by col2im (scatter of the k*k
  taps), whose buffer is then smaller than im2col's.

im2col and col2im are each other's gradients (custom VJPs), each written in a form XLA:CPU fuses
into few passes, products with more than 16 output columns run with their columns padded to a
multiple of 16 (`matmul_wide`), and kernel gradients run with their wider side along the product's
columns (`_transposed_product`); docs/PERFORMANCE.md has the measurements.

Every function here takes and returns what its `lax` counterpart does (NHWC inputs, HWIO kernels,
`transpose_kernel=False` for transposed convolutions), so `aedenoise/models/layers.py` can use
either with the same parameters; tests check that both agree. Which one runs where is
`aedenoise/policy.py`'s decision.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def _conv_pads(padding, in_hw, k_hw, strides):
  if isinstance(padding, str):
    return tuple(tuple(p) for p in lax.padtype_to_pads(in_hw, k_hw, strides, padding))
  return tuple(tuple(p) for p in padding)


def _pad_hw(x, pads):
  if all(p == (0, 0) for p in pads):
    return x
  return jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))


def _strided_taps(x, kh, kw, sh, sw, oh, ow):
  """The k*k shifted, strided views of x that a convolution's output pixels read."""
  return [x[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
          for i in range(kh) for j in range(kw)]


class _Patches(NamedTuple):
  """Where the k*k taps of a convolution read: kernel, strides, input and output sizes."""
  kh: int
  kw: int
  sh: int
  sw: int
  h: int
  w: int
  oh: int
  ow: int


def _gather_patches(x, g: _Patches):
  # Two nested stacks, not one k*k-operand concatenate: XLA:CPU fuses the tap slices into a
  # concatenate of at most 8 operands, and would otherwise write every tap out before copying it.
  taps = _strided_taps(x, g.kh, g.kw, g.sh, g.sw, g.oh, g.ow)
  rows = [jnp.stack(taps[i * g.kw:(i + 1) * g.kw], axis=3) for i in range(g.kh)]
  return jnp.stack(rows, axis=3).reshape(x.shape[0], g.oh, g.ow, -1)


def _scatter_patches(p, g: _Patches):
  # The adjoint: each tap padded back to its place (interior padding for strides) and summed,
  # columns first, then rows. Two passes of k pads each run several times faster on XLA:CPU than
  # one pass of k*k pads (each output element of which tests k*k bounds), which XLA may also
  # split into k*k separately written buffers.
  taps = p.reshape(p.shape[:3] + (g.kh, g.kw, -1))
  zero = jnp.zeros((), p.dtype)

  def place(t, axis, lo, hi, stride):
    config = [(0, 0, 0)] * 4
    config[axis] = (lo, hi, stride - 1)
    return lax.pad(t, zero, config)

  hi_h, hi_w = g.h - g.sh * (g.oh - 1) - 1, g.w - g.sw * (g.ow - 1) - 1
  rows = [sum(place(taps[:, :, :, i, j], 2, j, hi_w - j, g.sw) for j in range(g.kw))
          for i in range(g.kh)]
  return sum(place(r, 1, i, hi_h - i, g.sh) for i, r in enumerate(rows))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def im2col(x, g: _Patches):
  """(B, H, W, C) -> (B, oh, ow, kh*kw*C), taps in (row, column, channel) order, the layout of
  an HWIO kernel reshaped to (kh*kw*C, cout). Its gradient is `col2im`."""
  return _gather_patches(x, g)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def col2im(p, g: _Patches):
  """The adjoint of `im2col`: (B, oh, ow, kh*kw*C) -> (B, H, W, C), overlapping taps summed."""
  return _scatter_patches(p, g)


im2col.defvjp(lambda x, g: (_gather_patches(x, g), None),
              lambda g, _, ct: (_scatter_patches(ct, g),))
col2im.defvjp(lambda p, g: (_scatter_patches(p, g), None),
              lambda g, _, ct: (_gather_patches(ct, g),))


def _padded_product(a, b):
  """a @ b, computed with b's columns zero-padded to a multiple of 16 when it has more than 16.

  Why: with 25 or 50 output columns the product's SIMD tiles run part empty; padded, the
  products of these models ran faster on the CPUs measured, though they do more work. Values
  are a @ b's exactly (the padded columns are dropped), up to float summation order.
  """
  n = b.shape[1]
  if n <= 16 or n % 16 == 0:
    return a @ b
  return (a @ jnp.pad(b, ((0, 0), (0, -n % 16))))[:, :n]


def _transposed_product(a, ct):
  """a.T @ ct: the gradient of a @ b for b, a contraction over every pixel of the micro-batch.

  Why: XLA:CPU runs this product (its lhs transposed) on Eigen, which was faster on these shapes
  when the product's wider side ran along its columns (docs/PERFORMANCE.md). So when ct has fewer
  columns than a, the product is computed as ct.T @ a and transposed after; the barrier keeps XLA
  from folding the transpose back into the product.
  """
  if ct.shape[1] < a.shape[1]:
    return lax.optimization_barrier(ct.T @ a).T
  return a.T @ ct


@jax.custom_vjp
def matmul_wide(a, b):
  """a @ b with the forward product padded (`_padded_product`); the gradients use b as it is
  (padding them measured slower)."""
  return _padded_product(a, b)


matmul_wide.defvjp(lambda a, b: (_padded_product(a, b), (a, b)),
                   lambda res, ct: (ct @ res[1].T, _transposed_product(res[0], ct)))


@jax.custom_vjp
def matmul_wide_grad(a, b):
  """a @ b whose gradient for `a`, ct @ b.T (b's rows as columns), is the padded product."""
  return a @ b


matmul_wide_grad.defvjp(lambda a, b: (a @ b, (a, b)),
                        lambda res, ct: (_padded_product(ct, res[1].T),
                                         _transposed_product(res[0], ct)))


def conv_matmul(x, kernel, strides=(1, 1), padding='VALID'):
  """`lax.conv_general_dilated` (NHWC/HWIO, no dilation, one group) as im2col and one matmul."""
  kh, kw, cin, cout = kernel.shape
  sh, sw = strides
  x = _pad_hw(x, _conv_pads(padding, x.shape[1:3], (kh, kw), strides))
  b, h, w, _ = x.shape
  oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
  if (kh, kw, sh, sw) == (1, 1, 1, 1):
    patches = x
  else:
    patches = im2col(x, _Patches(kh, kw, sh, sw, h, w, oh, ow))
  y = matmul_wide(patches.reshape(-1, kh * kw * cin), kernel.reshape(kh * kw * cin, cout))
  return y.reshape(b, oh, ow, cout)


def depthwise_conv(x, kernel, strides=(1, 1), padding='VALID'):
  """Depthwise convolution (feature_group_count = channels, multiplier 1): kernel (k, k, 1, C)."""
  kh, kw = kernel.shape[:2]
  sh, sw = strides
  x = _pad_hw(x, _conv_pads(padding, x.shape[1:3], (kh, kw), strides))
  oh, ow = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
  taps = _strided_taps(x, kh, kw, sh, sw, oh, ow)
  return sum(t * kernel[i // kw, i % kw, 0] for i, t in enumerate(taps))


def _conv_transpose_pads(padding, kernel_size, strides):
  """The (lo, hi) padding of the dilated input, exactly as `lax.conv_transpose` computes it."""
  if not isinstance(padding, str):
    return tuple(tuple(p) for p in padding)
  pads = []
  for k, s in zip(kernel_size, strides):
    if padding == 'SAME':
      pad_len = k + s - 2
      lo = k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))
    elif padding == 'VALID':
      pad_len = k + s - 2 + max(k - s, 0)
      lo = k - 1
    else:
      raise ValueError(f'unsupported padding {padding!r}')
    pads.append((lo, pad_len - lo))
  return tuple(pads)


def _phase_plan(n_in, k, s, pad):
  """Plans one axis of an input-dilated correlation as `s` undilated ones.

  The transposed convolution is y[o] = sum_j xd[o + j] w[j], where xd is the input with s-1 zeros
  between samples and `pad` zeros at its ends. An output o = s*m + r (phase r) meets only the taps
  j with (r + j - lo) % s == 0, at input index m + c_r + t for its t-th such tap.
  Returns (output length, outputs per phase, [(taps, c_r)] per phase, input pad lo, input pad hi).
  """
  lo, hi = pad
  out = (n_in - 1) * s + 1 + lo + hi - k + 1
  m = -(-out // s)
  phases = []
  for r in range(s):
    j0 = (lo - r) % s
    phases.append((tuple(range(j0, k, s)), (r + j0 - lo) // s))
  pad_lo = max([0] + [-c for _, c in phases])
  pad_hi = max([0] + [m + c + len(t) - 1 - n_in for t, c in phases if t])
  return out, m, phases, pad_lo, pad_hi


def conv_transpose_phased(x, kernel, strides, padding='VALID'):
  """`lax.conv_transpose` (transpose_kernel=False) as s_h*s_w interleaved stride-1 convolutions."""
  b = x.shape[0]
  kh, kw, _, cout = kernel.shape
  sh, sw = strides
  pads = _conv_transpose_pads(padding, (kh, kw), strides)
  out_h, m_h, phases_h, lo_h, hi_h = _phase_plan(x.shape[1], kh, sh, pads[0])
  out_w, m_w, phases_w, lo_w, hi_w = _phase_plan(x.shape[2], kw, sw, pads[1])
  xp = _pad_hw(x, ((lo_h, hi_h), (lo_w, hi_w)))
  rows = []
  for taps_h, c_h in phases_h:
    cols = []
    for taps_w, c_w in phases_w:
      if not taps_h or not taps_w:  # no tap reaches this phase (stride > kernel)
        cols.append(jnp.zeros((b, m_h, m_w, cout), x.dtype))
        continue
      sub = kernel[np.array(taps_h)][:, np.array(taps_w)]
      y0, x0 = c_h + lo_h, c_w + lo_w
      xs = xp[:, y0:y0 + m_h + len(taps_h) - 1, x0:x0 + m_w + len(taps_w) - 1]
      cols.append(conv_matmul(xs, sub))
    rows.append(jnp.stack(cols, axis=3))  # (B, Mh, Mw, sw, C)
  y = jnp.stack(rows, axis=2).reshape(b, m_h * sh, m_w * sw, cout)  # interleave the phases
  return y[:, :out_h, :out_w]


def conv_transpose_col2im(x, kernel):
  """Stride-1 VALID `lax.conv_transpose`: one matmul to all k*k taps, then `col2im`."""
  b, h, w, cin = x.shape
  kh, kw, _, cout = kernel.shape
  # Input pixel i meets tap j at output i + (k - 1 - j): with the kernel flipped, tap j lands at
  # i + j, which is col2im's placement.
  flipped = kernel[::-1, ::-1].transpose(2, 0, 1, 3).reshape(cin, kh * kw * cout)
  z = matmul_wide_grad(x.reshape(-1, cin), flipped).reshape(b, h, w, kh * kw * cout)
  return col2im(z, _Patches(kh, kw, 1, 1, h + kh - 1, w + kw - 1, h, w))


def conv_transpose(x, kernel, strides, padding='VALID'):
  """`lax.conv_transpose` (NHWC/HWIO, transpose_kernel=False); the formulation chosen by shape."""
  cin, cout = kernel.shape[2:]
  if tuple(strides) != (1, 1):
    return conv_transpose_phased(x, kernel, strides, padding)
  if padding == 'VALID' and cout < cin:  # fewer outputs: col2im's buffer is the smaller one
    return conv_transpose_col2im(x, kernel)
  pads = _conv_transpose_pads(padding, kernel.shape[:2], strides)
  return conv_matmul(x, kernel, (1, 1), pads)


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                         dimension_numbers=None, feature_group_count=1, precision=None, **kwargs):
  """Drop-in for `lax.conv_general_dilated` as `nn.Conv` calls it (NHWC); what it has
  no matrix-product form for (dilations, other groupings) goes to `lax` itself."""
  dilated = any(d != 1 for d in (lhs_dilation or ()) + (rhs_dilation or ()))
  if dilated or feature_group_count not in (1, lhs.shape[-1]) or (
      feature_group_count > 1 and rhs.shape[-1] != lhs.shape[-1]):
    return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                    dimension_numbers, feature_group_count, precision=precision,
                                    **kwargs)
  if feature_group_count > 1:
    return depthwise_conv(lhs, rhs, window_strides, padding)
  return conv_matmul(lhs, rhs, window_strides, padding)


# Input channels from which a stride-1 convolution with a spatial kernel runs on XLA's own kernel
# in `conv_by_shape`: below, its im2col is narrow enough to fuse with what surrounds it, and the
# matrix product was faster in whole models (docs/PERFORMANCE.md).
WIDE_INPUT = 32


def conv_by_shape(lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                  dimension_numbers=None, feature_group_count=1, precision=None, **kwargs):
  """Drop-in for `lax.conv_general_dilated` for inference on XLA:CPU, the formulation chosen per
  layer: XLA's own kernel for stride-1 convolutions with a spatial kernel and at least WIDE_INPUT
  input channels (im2col would multiply their memory traffic by the kernel's area), the matrix
  product for 1x1, strided, narrower and depthwise ones (docs/PERFORMANCE.md)."""
  kh, kw = rhs.shape[:2]
  spatial = kh * kw > 1 and all(s == 1 for s in window_strides)
  if spatial and feature_group_count == 1 and lhs.shape[-1] >= WIDE_INPUT:
    return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                                    dimension_numbers, feature_group_count, precision=precision,
                                    **kwargs)
  return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              dimension_numbers, feature_group_count, precision, **kwargs)
