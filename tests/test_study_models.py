"""Models of the CIFAR-10 study (Psychalas 2024) and the image-quality study (Krzak et al. 2022):
exact parameter counts, output sizes, collections, stochastic layers, formulation independence."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aedenoise.models import MODELS as STUDY_MODELS
from aedenoise.models import image_quality, layers

COUNTS = {'cifar_model_a': 95_307, 'cifar_model_b': 93_587, 'cifar_model_b_small': 5_539,
          'cifar_model_c': 80_515, 'cifar_pool_ae': 23_659, 'cifar_vae': 522_519,
          'sr_deconv': 3_063, 'sr_resnet': 299_463}
# What each model was built for: the clean target (H, W, C) and the input's downscale factor.
_CIFAR = {'target': (32, 32, 3), 'scale': 1}
STUDY_GEOMETRY = {**{name: _CIFAR for name in COUNTS if name.startswith('cifar_')},
                  'sr_deconv': {'target': (360, 360, 3), 'scale': 2},
                  'sr_resnet': {'target': (360, 360, 3), 'scale': 4}}
BATCH_NORM = {'cifar_model_b', 'cifar_model_b_small', 'cifar_model_c', 'sr_resnet'}
RNGS = {'params': jax.random.key(0), 'dropout': jax.random.key(1), 'sample': jax.random.key(2)}


def _count(tree):
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(tree))


def _input(name, batch=2):
  h, w, c = STUDY_GEOMETRY[name]['target']
  s = STUDY_GEOMETRY[name]['scale']
  return jnp.zeros((batch, h // s, w // s, c))


def _variables(model, x):
  """Initial variables without the sown 'losses' (which init collects like any collection)."""
  v = jax.jit(model.init)(RNGS, x)
  return {k: v[k] for k in v if k != 'losses'}


def test_registry_names_match_geometry():
  assert set(STUDY_GEOMETRY) == set(COUNTS) <= set(STUDY_MODELS)


@pytest.mark.parametrize('name', sorted(COUNTS))
def test_parameter_count_collections_and_shape(name):
  model = STUDY_MODELS[name]()
  x = _input(name)
  variables = jax.eval_shape(lambda: model.init(RNGS, x))
  print(f'{name}: {_count(variables["params"]):,} parameters')
  assert _count(variables['params']) == COUNTS[name]
  expected = {'params'} | ({'batch_stats'} if name in BATCH_NORM else set())
  expected |= {'losses'} if name == 'cifar_vae' else set()
  assert set(variables) == expected
  variables = {k: variables[k] for k in variables if k != 'losses'}
  out, _ = jax.eval_shape(lambda v: model.apply(v, x, mutable=['losses']), variables)
  assert out.shape == (2,) + STUDY_GEOMETRY[name]['target']
  assert model.output_activation == ('linear' if name == 'sr_resnet' else 'sigmoid')


@pytest.mark.parametrize('name,size,out', [
    ('sr_resnet', 24, 96), ('sr_resnet', 90, 360), ('sr_resnet', 7, 28),
    ('sr_deconv', 48, 96), ('sr_deconv', 180, 360), ('sr_deconv', 13, 26)])
def test_super_resolution_is_fully_convolutional(name, size, out):
  model = STUDY_MODELS[name]()
  x = jnp.zeros((1, size, size + 2, 3))
  variables = jax.eval_shape(lambda: model.init(RNGS, x))
  y = jax.eval_shape(model.apply, variables, x)
  assert y.shape == (1, out, out + 2 * STUDY_GEOMETRY[name]['scale'], 3)


def test_vae_sows_kl_per_image_and_samples_only_in_training():
  model = STUDY_MODELS['cifar_vae'](latent_dims=4, capacity=4)
  x = jnp.asarray(np.random.default_rng(0).random((3, 8, 8, 3)), jnp.float32)
  variables = _variables(model, x)
  fn = jax.jit(lambda v, rng, train: model.apply(v, x, train=train, mutable=['losses'],
                                                 rngs={'sample': rng}), static_argnums=2)
  apply = lambda train, seed: fn(variables, jax.random.key(seed), train)
  y0, state = apply(False, 0)
  (kl,) = state['losses']['kl']
  assert kl.shape == (3,) and bool(jnp.all(kl >= 0))
  np.testing.assert_array_equal(y0, apply(False, 1)[0])
  t1, t2 = apply(True, 1)[0], apply(True, 2)[0]
  assert y0.shape == t1.shape == (3, 8, 8, 3)
  assert not np.allclose(t1, t2)
  np.testing.assert_array_equal(t1, apply(True, 1)[0])


def test_resnet_dropout_differs_between_rngs_only_in_training():
  model = STUDY_MODELS['sr_resnet'](features=8)
  x = jnp.asarray(np.random.default_rng(0).random((2, 3, 3, 3)), jnp.float32)
  variables = _variables(model, x)
  fn = jax.jit(lambda v, rng, train: model.apply(v, x, train=train, mutable=['batch_stats'],
                                                 rngs={'dropout': rng})[0], static_argnums=2)
  run = lambda train, seed: fn(variables, jax.random.key(seed), train)
  np.testing.assert_array_equal(run(False, 1), run(False, 2))
  assert not np.allclose(run(True, 1), run(True, 2))
  prelus = [v for path, v in jax.tree_util.tree_leaves_with_path(variables['params'])
            if path[-1].key == 'negative_slope']
  assert len(prelus) == 4 and all(float(s) == 0.25 for s in prelus)  # two per residual block


@pytest.mark.parametrize('name,shape', [('cifar_model_c', (2, 8, 8, 3)),
                                        ('cifar_pool_ae', (2, 16, 16, 3)),
                                        ('sr_deconv', (2, 6, 5, 3))])
def test_matmul_and_lax_formulations_agree(name, shape):
  x = jnp.asarray(np.random.default_rng(0).random(shape), jnp.float32)
  model = STUDY_MODELS[name]()
  variables = _variables(model, x)
  for train in (False, True) if 'batch_stats' in variables else (False,):
    run = lambda impl: jax.jit(layers.traced_with(
        impl, lambda v: model.apply(v, x, train=train, mutable=['batch_stats'])[0]))
    np.testing.assert_allclose(run('matmul')(variables), run('lax')(variables), rtol=1e-4,
                               atol=1e-5)


def _torch_align_corners(x, scale):
  """NumPy transcription of torch's upsample_bilinear2d, align_corners=True (float32 weights)."""
  def axis_weights(n_in, n_out):
    ratio = np.float32((n_in - 1) / (n_out - 1)) if n_out > 1 else np.float32(0)
    src = ratio * np.arange(n_out, dtype=np.float32)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    return i0, i1, lam

  b, h, w, c = x.shape
  h0, h1, lh = axis_weights(h, h * scale)
  w0, w1, lw = axis_weights(w, w * scale)
  rows = x[:, h0] * (1 - lh)[None, :, None, None] + x[:, h1] * lh[None, :, None, None]
  return rows[:, :, w0] * (1 - lw)[None, None, :, None] + rows[:, :, w1] * lw[None, None, :, None]


@pytest.mark.parametrize('shape,scale', [((2, 5, 7, 3), 4), ((1, 90, 90, 1), 4), ((1, 3, 2, 2), 2)])
def test_align_corners_upsampling_matches_torch_formula(shape, scale):
  x = np.random.default_rng(1).random(shape).astype(np.float32)
  y = np.asarray(image_quality.upsample_bilinear_align_corners(jnp.asarray(x), scale))
  # torch's source coordinate ratio * i is rounded in float32, ours is exact: ~i * 6e-8 apart.
  np.testing.assert_allclose(y, _torch_align_corners(x, scale), rtol=0, atol=1e-5)
  for i, j in ((0, 0), (0, -1), (-1, 0), (-1, -1)):  # corners exactly preserved
    np.testing.assert_array_equal(y[:, i, j], x[:, i, j])
