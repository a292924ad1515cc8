"""Dual-autoencoder study models: the paper's exact parameter counts, shapes, and formulation-independent outputs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aedenoise.models import MODELS, layers

DUAL_AE_COUNTS = {'single': 36_386, 'single_sep': 15_760, 'dual': 87_812, 'dual_sep': 52_445,
                  'dual_skip': 91_488, 'dual_skip_sep': 56_231}


def _count(params):
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(params))


@pytest.mark.parametrize('name', sorted(DUAL_AE_COUNTS))
def test_parameter_count_and_shape(name):
  model = MODELS[name]()
  variables = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 100, 100, 1)))
  assert set(variables) == {'params'}
  assert _count(variables['params']) == DUAL_AE_COUNTS[name]
  out = jax.eval_shape(model.apply, variables, jnp.zeros((3, 100, 100, 1)))
  assert out.shape == (3, 100, 100, 1)
  assert model.output_activation == 'sigmoid'


@pytest.mark.parametrize('name', ['single_sep', 'dual_skip', 'dual_skip_sep'])
def test_matmul_and_lax_formulations_agree(name):
  """Same parameters, same outputs and gradients, whichever way convolutions are computed."""
  x = jnp.asarray(np.random.default_rng(0).random((2, 100, 100, 1)), jnp.float32)
  model = MODELS[name]()
  params = model.init(jax.random.key(1), x)['params']
  apply = lambda impl: layers.traced_with(impl, lambda p: model.apply({'params': p}, x))
  loss = lambda impl: lambda p: jnp.mean(jax.nn.sigmoid(apply(impl)(p)) ** 2)
  np.testing.assert_allclose(apply('matmul')(params), apply('lax')(params), rtol=1e-4, atol=1e-5)
  g_fast, g_ref = jax.grad(loss('matmul'))(params), jax.grad(loss('lax'))(params)
  for a, b in zip(jax.tree.leaves(g_fast), jax.tree.leaves(g_ref)):
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3 * float(jnp.abs(b).max()))


def test_skip_connections_need_the_dual_model():
  with pytest.raises(ValueError, match='dual'):
    MODELS['single'](skips=True).init(jax.random.key(0), jnp.zeros((1, 100, 100, 1)))


@pytest.mark.parametrize('name', ['unet', 'dual_skip', 'dncnn'])
def test_the_by_shape_formulation_computes_the_same_outputs(name):
  """Inference on the CPU picks each layer's formulation by its shape; same outputs as lax."""
  x = jnp.asarray(np.random.default_rng(0).random((1, 40, 48, 1)), jnp.float32)
  model = MODELS[name]()
  variables = model.init(jax.random.key(1), x)
  apply = lambda impl: layers.traced_with(impl, lambda: model.apply(variables, x))()
  np.testing.assert_allclose(apply('by_shape'), apply('lax'), rtol=1e-4, atol=1e-5)
