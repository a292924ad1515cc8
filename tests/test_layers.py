"""The matmul formulations (aedenoise/cpu/kernels.py) equal XLA's convolutions (values and
gradients), shape for shape; the layers compute with the implementation they are traced under."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aedenoise.cpu import kernels
from aedenoise.models import layers

DN = ('NHWC', 'HWIO', 'NHWC')


def _rand(shape, seed=0):
  return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def _check_value_and_grads(f, g, x, w, rtol=1e-4):
  np.testing.assert_allclose(f(x, w), g(x, w), rtol=rtol, atol=1e-4)
  loss = lambda fn: lambda x, w: jnp.sum(jnp.sin(fn(x, w)))
  for a, b in zip(jax.grad(loss(f), (0, 1))(x, w), jax.grad(loss(g), (0, 1))(x, w)):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-3)


@pytest.mark.parametrize('size,k,s,cin,cout,padding', [
    (11, 3, 1, 3, 4, 'VALID'), (11, 3, 2, 3, 4, 'VALID'), (12, 3, 2, 2, 5, 'SAME'),
    (10, 1, 1, 4, 2, 'VALID'), (13, 4, 3, 2, 3, 'VALID'), (9, 2, 2, 3, 3, ((1, 0), (0, 1))),
    (7, 5, 1, 1, 2, 'SAME'), (9, 3, 1, 3, 20, 'VALID'), (9, 3, 2, 4, 35, 'VALID')])
def test_conv_matmul_matches_lax(size, k, s, cin, cout, padding):
  x, w = _rand((2, size, size + 1, cin)), _rand((k, k, cin, cout), 1)
  ref = lambda x, w: jax.lax.conv_general_dilated(x, w, (s, s), padding, dimension_numbers=DN)
  _check_value_and_grads(lambda x, w: kernels.conv_matmul(x, w, (s, s), padding), ref, x, w)


@pytest.mark.parametrize('k,s', [(3, 1), (3, 2), (1, 1), (2, 2)])
def test_depthwise_matches_lax(k, s):
  x, w = _rand((2, 9, 10, 4)), _rand((k, k, 1, 4), 1)
  ref = lambda x, w: jax.lax.conv_general_dilated(x, w, (s, s), 'VALID', dimension_numbers=DN,
                                                  feature_group_count=4)
  _check_value_and_grads(lambda x, w: kernels.depthwise_conv(x, w, (s, s)), ref, x, w)


@pytest.mark.parametrize('size,k,s,cin,cout,padding', [
    (5, 3, 2, 3, 4, 'VALID'), (6, 3, 1, 4, 2, 'VALID'), (6, 6, 1, 8, 1, 'VALID'),
    (5, 4, 1, 8, 1, 'VALID'), (4, 2, 2, 3, 3, 'VALID'), (5, 3, 2, 2, 3, 'SAME'),
    (4, 2, 3, 2, 2, 'VALID'), (5, 4, 2, 3, 2, 'SAME'), (6, 2, 1, 3, 3, 'SAME'),
    (5, 3, 3, 2, 2, 'SAME'), (5, 3, 1, 20, 3, 'VALID')])
def test_conv_transpose_matches_lax(size, k, s, cin, cout, padding):
  x, w = _rand((2, size, size + 2, cin)), _rand((k, k, cin, cout), 1)
  ref = lambda x, w: jax.lax.conv_transpose(x, w, (s, s), padding, dimension_numbers=DN)
  _check_value_and_grads(lambda x, w: kernels.conv_transpose(x, w, (s, s), padding), ref,
                         x, w)


def test_matmul_wide_equals_the_plain_product():
  """Padded forward products (more than 16 columns, not a multiple of 16) and their gradients."""
  a, b = _rand((40, 30)), _rand((30, 25), 1)
  for fn in (kernels.matmul_wide, kernels.matmul_wide_grad):
    _check_value_and_grads(fn, jnp.matmul, a, b, rtol=1e-5)
    _check_value_and_grads(fn, jnp.matmul, b.T, a.T, rtol=1e-5)


def test_modules_share_parameters_with_flax_layers():
  """Same parameter tree as nn.Conv / nn.ConvTranspose, so checkpoints do not depend on impl."""
  x = _rand((1, 8, 8, 3))
  theirs = nn.ConvTranspose(5, (3, 3), (2, 2), padding='VALID').init(jax.random.key(0), x)
  for impl in layers.IMPLS:
    with layers.using(impl):
      ours = layers.ConvTranspose(5, (3, 3), (2, 2)).init(jax.random.key(0), x)
      assert jax.tree.map(jnp.shape, ours) == jax.tree.map(jnp.shape, theirs)
      np.testing.assert_allclose(layers.ConvTranspose(5, (3, 3), (2, 2)).apply(theirs, x),
                                 nn.ConvTranspose(5, (3, 3), (2, 2), padding='VALID').apply(theirs, x),
                                 rtol=1e-5, atol=1e-5)
      conv = layers.Conv(4, (3, 3), (2, 2))
      assert isinstance(conv, nn.Conv)
      v = conv.init(jax.random.key(0), x)
      np.testing.assert_allclose(conv.apply(v, x), nn.Conv(4, (3, 3), (2, 2), 'VALID').apply(v, x),
                                 rtol=1e-5, atol=1e-5)


def test_a_traced_function_computes_with_the_implementation_it_was_wrapped_in():
  """jit traces when first called: the implementation is the wrapper's, not the caller's."""
  x = _rand((1, 8, 8, 3))
  conv = layers.ConvTranspose(4, (3, 3), (2, 2))
  v = conv.init(jax.random.key(0), x)
  primitives = {}
  for impl in layers.IMPLS:
    fn = jax.jit(layers.traced_with(impl, lambda v, x: conv.apply(v, x)))
    with layers.using('lax' if impl == 'matmul' else 'matmul'):  # the caller's choice is ignored
      jaxpr = jax.make_jaxpr(fn)(v, x)
    primitives[impl] = str(jaxpr)
  assert 'conv_general_dilated' in primitives['lax']
  assert 'conv_general_dilated' not in primitives['matmul']  # matrix products only
  assert layers.current_impl() == layers.DEFAULT_IMPL


def test_unknown_impl_is_refused():
  with pytest.raises(ValueError, match='impl'):
    with layers.using('fast'):
      pass


def test_weight_gradient_runs_with_its_wider_side_along_the_columns():
  """a.T @ ct with fewer columns in ct than in a is computed as (ct.T @ a).T behind a barrier
  (faster on XLA:CPU), and with as many or more as a.T @ ct itself; both give a.T @ ct."""
  a = _rand((64, 30))
  for columns, swapped in ((5, True), (40, False)):
    ct = _rand((64, columns), 1)
    jaxpr = str(jax.make_jaxpr(kernels._transposed_product)(a, ct))  # pylint: disable=protected-access
    assert ('optimization_barrier' in jaxpr) == swapped
    np.testing.assert_allclose(kernels._transposed_product(a, ct), a.T @ ct,  # pylint: disable=protected-access
                               rtol=1e-5, atol=1e-5)
  b = _rand((30, 5), 1)
  grad = jax.jit(jax.grad(lambda b: jnp.sum(jnp.sin(kernels.matmul_wide(a, b)))))
  np.testing.assert_allclose(grad(b), a.T @ jnp.cos(a @ b), rtol=1e-5, atol=1e-5)
