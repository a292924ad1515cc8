"""The real-noise study's linear autoencoder and the MNIST study's nine DAEs: exact parameter counts,
Keras' 'same' padding for even kernels in both convolution formulations, and linearity."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from aedenoise.models import MODELS
from aedenoise.models import layers

MNIST_COUNTS = {(1, 13): 2_053, (1, 8): 3_533, (1, 5): 4_613,
                (3, 13): 12_725, (3, 8): 21_621, (3, 5): 27_477,
                (5, 13): 55_477, (5, 8): 86_581, (5, 5): 121_077}
# (registry name, model_kwargs) -> trainable parameters
COUNTS = {('sidd_linear_ae', ()): 3_023_235,
          **{('mnist_dae', (('depth', d), ('latent', l))): n for (d, l), n in MNIST_COUNTS.items()}}
DN = ('NHWC', 'HWIO', 'NHWC')
KERAS_SAME_K2 = ((0, 1), (0, 1))  # TF: pad_total = 1, top/left = total // 2, the rest bottom/right


@pytest.mark.parametrize('name,kwargs', sorted(COUNTS))
def test_parameter_count_and_shape(name, kwargs):
  model = MODELS[name](**dict(kwargs))
  shape = (2, 24, 20, 3) if name == 'sidd_linear_ae' else (2, 28, 28, 1)
  variables = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros(shape))
  assert set(variables) == {'params'}
  assert sum(int(np.prod(p.shape)) for p in jax.tree.leaves(variables)) == COUNTS[(name, kwargs)]
  assert jax.eval_shape(model.apply, variables, jnp.zeros(shape)).shape == shape
  assert model.output_activation == ('linear' if name == 'sidd_linear_ae' else 'sigmoid')


@pytest.mark.parametrize('impl', layers.IMPLS)
def test_even_kernel_same_conv_pads_bottom_right_like_keras(impl):
  x = jax.random.normal(jax.random.key(0), (2, 7, 6, 3))
  with layers.using(impl):
    conv = layers.Conv(4, (2, 2), padding='SAME')
    variables = conv.init(jax.random.key(1), x)
    kernel = variables['params']['kernel']
    expected = lax.conv_general_dilated(x, kernel, (1, 1), KERAS_SAME_K2, dimension_numbers=DN)
    np.testing.assert_allclose(conv.apply(variables, x) - variables['params']['bias'], expected,
                               atol=1e-5)


@pytest.mark.parametrize('impl', layers.IMPLS)
def test_even_kernel_same_conv_transpose_is_keras_gradient_of_same_conv(impl):
  """Keras' Conv2DTranspose('same') is the input gradient of Conv2D('same') (pads bottom/right);
  ours equals it with the kernel stored spatially flipped and its in/out axes swapped."""
  x = jax.random.normal(jax.random.key(0), (2, 7, 6, 3))
  keras_kernel = jax.random.normal(jax.random.key(1), (2, 2, 4, 3))  # (h, w, out, in) of Keras
  conv = lambda z: lax.conv_general_dilated(z, keras_kernel, (1, 1), KERAS_SAME_K2,
                                            dimension_numbers=DN)
  _, vjp = jax.vjp(conv, jnp.zeros((2, 7, 6, 4)))
  (expected,) = vjp(x)
  ours = layers.ConvTranspose(4, (2, 2), padding='SAME', use_bias=False)
  kernel = keras_kernel[::-1, ::-1].transpose(0, 1, 3, 2)
  with layers.using(impl):
    got = ours.apply({'params': {'kernel': kernel}}, x)
  np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize('impl', layers.IMPLS)
def test_sidd_linear_ae_is_linear_with_global_residual(impl):
  model = MODELS['sidd_linear_ae']()
  x, y = jax.random.uniform(jax.random.key(0), (2, 1, 9, 8, 3))
  variables = model.init(jax.random.key(1), x)
  # The last layer starts at zero (the identity); give it weights so the test sees the network.
  last = variables['params']['deconv_1']
  last['kernel'] = 0.05 * jax.random.normal(jax.random.key(2), last['kernel'].shape)
  last['bias'] = jnp.full_like(last['bias'], 0.1)
  f = jax.jit(layers.traced_with(impl, lambda v: model.apply(variables, v)))
  f0 = f(jnp.zeros_like(x))
  assert float(jnp.abs(f(x) - x).max()) > 1e-2  # not the identity
  a, b = 0.7, -1.3
  np.testing.assert_allclose(f(a * x + b * y) - f0, a * (f(x) - f0) + b * (f(y) - f0),
                             atol=2e-3, rtol=1e-3)


def test_untrained_sidd_linear_ae_is_the_identity():
  model = MODELS['sidd_linear_ae']()
  x = jax.random.uniform(jax.random.key(0), (1, 8, 8, 3))
  np.testing.assert_allclose(model.apply(model.init(jax.random.key(1), x), x), x, atol=1e-6)


def test_pytorch_studies_start_from_torch_default_init():
  """Conv2d/ConvTranspose2d weights and biases ~ U(+-1/sqrt(fan_in)), fan_in as torch counts it
  (in x k^2 for a convolution, out x k^2 for a transposed one): biases are not zero."""
  params = MODELS['mnist_dae'](depth=5, latent=8).init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)))['params']
  for name, fan_in in (('enc2', 32 * 5 * 5), ('dec1', 8 * 5 * 5), ('dec5', 1 * 5 * 5)):
    bound = 1 / np.sqrt(fan_in)
    for leaf in (params[name]['kernel'], params[name]['bias']):
      assert np.abs(leaf).max() <= bound
    assert np.abs(params[name]['kernel']).max() > 0.9 * bound
    assert np.abs(params[name]['bias']).min() > 0
