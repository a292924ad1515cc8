"""Noise and brightness degradations: statistics against closed forms and scikit-image, the specs,
compositions and presets. Images are single 256x256 arrays (65,536 samples): a sample variance is
then within 1% of the truth (sqrt(2/N) = 0.55%), so the 5% tolerances below can only fail on a bug.

Statistics run eagerly (JAX caches each compiled primitive, so tests share them); every preset is
compiled once, all in one jit, which also shows that each one traces with static shapes."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from PIL import Image, ImageEnhance
from scipy import stats
from skimage.util import random_noise

from aedenoise import degradations
from aedenoise.degradations import sampling

N = 256
KEY = jax.random.key(0)


def _flat(value, size=N, channels=1):
  return jnp.full((size, size, channels), value, jnp.float32)


def _two_levels(lo=0.2, hi=0.8):
  """Left half `lo`, right half `hi`: one image checks that variance follows the signal."""
  x = np.full((N, N, 1), lo, np.float32)
  x[:, N // 2:] = hi
  return jnp.asarray(x)


def _apply(kind, x, key=KEY, **params):
  return np.asarray(degradations.build_single({'kind': kind, **params})(key, x))


def test_gaussian_residual_has_the_stated_mean_and_variance():
  x = _flat(0.5)
  r = _apply('gaussian', x, sigma=0.05, mean=0.1, clip=False) - 0.5
  assert abs(r.mean() - 0.1) < 4 * 0.05 / N  # 4 standard errors
  assert r.var() == pytest.approx(0.05 ** 2, rel=0.05)
  # `var` is the same noise: same key, same draw.
  np.testing.assert_allclose(_apply('gaussian', x, var=0.05 ** 2, mean=0.1, clip=False), r + 0.5,
                             atol=1e-6)


def test_clipping_biases_the_residual():
  """Why `clip` is explicit: near black, clipping removes the negative half of the noise."""
  x = _flat(0.0)
  assert abs(_apply('gaussian', x, sigma=0.1, clip=False).mean()) < 0.002
  assert _apply('gaussian', x, sigma=0.1, clip=True).mean() == pytest.approx(0.1 / np.sqrt(2 * np.pi),
                                                                            rel=0.05)


def test_gaussian_per_pixel_noise_is_shared_by_channels():
  x = _flat(0.5, size=32, channels=3)
  y = _apply('gaussian', x, sigma=0.1, per_channel=False, clip=False)
  np.testing.assert_array_equal(y[..., 0], y[..., 2])
  y = _apply('gaussian', x, sigma=0.1, per_channel=True, clip=False)
  assert np.abs(y[..., 0] - y[..., 2]).mean() > 0.05


def _halves(y):
  return y[:, :N // 2], y[:, N // 2:]


def test_poisson_variance_is_proportional_to_the_signal():
  peak = 100.0
  y = _apply('poisson', _two_levels(), peak=peak, clip=False)
  for half, level in zip(_halves(y), (0.2, 0.8)):
    assert half.mean() == pytest.approx(level, rel=0.01)
    assert half.var() == pytest.approx(level / peak, rel=0.05)
    # Counts are integers: every value is a multiple of 1 / peak.
    np.testing.assert_allclose(half * peak, np.round(half * peak), atol=1e-3)


@pytest.mark.parametrize('rate', [0.7, 4.0, 9.99, 10.0, 37.0, 300.0])
def test_poisson_counts_follow_the_poisson_pmf(rate):
  """Both sampler paths (inversion below 10, rejection above) against the exact pmf."""
  counts = np.asarray(sampling.poisson_counts(KEY, jnp.full((N, N), rate)))
  np.testing.assert_array_equal(counts, np.round(counts))
  ks = np.arange(int(rate + 6 * np.sqrt(rate)) + 2)
  pmf = stats.poisson.pmf(ks, rate)
  freq = (counts.ravel()[:, None] == ks[None]).mean(axis=0)
  # Each frequency is within 5 standard errors of its probability.
  assert np.all(np.abs(freq - pmf) <= 5 * np.sqrt(pmf * (1 - pmf) / N ** 2) + 1e-5)
  assert counts.mean() == pytest.approx(rate, rel=0.01) and counts.var() == pytest.approx(rate, rel=0.03)


@pytest.mark.parametrize('discrete', [False, True])
def test_poisson_gaussian_variance_is_a_y_plus_b(discrete):
  a, b = 0.01, 0.0004
  y = _apply('poisson_gaussian', _two_levels(), a=a, b=b, discrete=discrete, clip=False)
  for half, level in zip(_halves(y), (0.2, 0.8)):
    assert half.mean() == pytest.approx(level, abs=0.003)
    assert half.var() == pytest.approx(a * level + b, rel=0.05)


@pytest.mark.parametrize('kind,params', [('speckle', {'var': 0.04}),
                                         ('multiplicative', {'sigma': 0.2})])
def test_multiplicative_noise_std_is_proportional_to_the_signal(kind, params):
  y = _apply(kind, _two_levels(), clip=False, **params)
  for half, level in zip(_halves(y), (0.2, 0.8)):
    assert half.mean() == pytest.approx(level, rel=0.01)
    assert half.var() == pytest.approx(0.04 * level ** 2, rel=0.05)


def test_multiplicative_mean_shifts_by_x_times_mean():
  """The CIFAR-10 study Type-II with mean 0.8: E[y] = x (1 + 0.8)."""
  y = _apply('multiplicative', _flat(0.3), sigma=0.1, mean=0.8, clip=False)
  assert y.mean() == pytest.approx(0.3 * 1.8, rel=0.01)


def test_salt_pepper_hits_the_stated_fraction_of_pixels_on_all_channels():
  x = _flat(0.5, channels=3)
  y = _apply('salt_pepper', x, amount=0.3, salt_ratio=0.25)
  hit = y[..., 0] != 0.5
  assert hit.mean() == pytest.approx(0.3, abs=0.01)
  np.testing.assert_array_equal(y[..., 0], y[..., 1])  # a pixel is hit on every channel
  assert (y[hit][:, 0] == 1).mean() == pytest.approx(0.25, abs=0.015)
  assert set(np.unique(y)) == {0.0, 0.5, 1.0}


def test_salt_pepper_picks_follow_image_quality_study_code():
  """floor(a * H * W) picks with replacement hit 1 - (1 - 1/HW)^picks of the pixels."""
  y = _apply('salt_pepper', _flat(0.5), amount=0.6, picks=True)
  expected = 1 - (1 - 1 / N ** 2) ** np.floor(0.6 * N ** 2)
  assert (y != 0.5).mean() == pytest.approx(expected, abs=0.01)
  assert expected == pytest.approx(1 - np.exp(-0.6), abs=1e-4)


def test_colour_pixels_get_uniform_random_colours():
  y = _apply('colour_pixels', _flat(0.5, channels=3), amount=0.4)
  hit = np.any(y != 0.5, axis=-1)
  assert hit.mean() == pytest.approx(0.4, abs=0.01)
  values = y[hit]
  assert values.mean() == pytest.approx(0.5, abs=0.01)
  assert values.var() == pytest.approx(1 / 12, rel=0.05)  # U(0, 1) per channel
  assert np.abs(values[:, 0] - values[:, 1]).mean() > 0.2  # colours, not greys


def test_darken_and_brighten_follow_image_quality_study_uint8_arithmetic():
  """Exact for the paper's levels 50 and 150; within one 8-bit level for 70 and 160 (see tone.py)."""
  p = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
  x = jnp.asarray(p, jnp.float32) / 255.0
  for level, exact in ((50, True), (70, False)):
    want = np.floor_divide(p, 100 / level).astype(np.uint8)
    got = np.round(_apply('darken', x, amount=1 - level / 100, quantize=True) * 255)
    diff = np.abs(got - want)
    assert diff.max() == 0 if exact else (diff.max() <= 1 and diff.mean() < 0.15), level
  for level, exact in ((150, True), (160, False)):
    pil = ImageEnhance.Brightness(Image.fromarray(p[..., 0])).enhance(level / 100)
    got = np.round(_apply('brighten', x, amount=level / 100 - 1, quantize=True) * 255)
    diff = np.abs(got[..., 0] - np.asarray(pil))
    assert diff.max() == 0 if exact else (diff.max() <= 1 and diff.mean() < 0.15), level
  np.testing.assert_allclose(_apply('darken', x, amount=0.4), 0.6 * x, atol=1e-6)
  assert _apply('brighten', x, amount=0.5).max() == 1.0  # clipped


# ------------------------------------------------------------------ where scikit-image agrees


def _levels_image():
  """256 grey levels k/255, as scikit-image sees an 8-bit image (so its Poisson peak is 256)."""
  return (np.arange(N * N) % 256).reshape(N, N, 1).astype(np.float64) / 255.0


@pytest.mark.parametrize('mode,kind,ours,theirs', [
    ('gaussian', 'gaussian', {'var': 0.01}, {'var': 0.01}),
    ('speckle', 'speckle', {'var': 0.02}, {'var': 0.02}),
    ('poisson', 'poisson', {'peak': 256.0}, {}),
])
def test_residual_statistics_match_scikit_image(mode, kind, ours, theirs):
  x = _levels_image()
  ref = random_noise(x, mode=mode, clip=False, rng=1, **theirs) - x
  got = _apply(kind, jnp.asarray(x, jnp.float32), clip=False, **ours) - x
  assert got.mean() == pytest.approx(ref.mean(), abs=0.002)
  assert got.var() == pytest.approx(ref.var(), rel=0.05)
  # Signal dependence too: the variance on bright pixels over that on dark ones.
  bright, dark = x[..., 0] > 0.5, x[..., 0] < 0.5
  assert got[bright].var() / got[dark].var() == pytest.approx(
      ref[bright].var() / ref[dark].var(), rel=0.08)


def test_salt_pepper_matches_scikit_image_per_element():
  x = _flat(0.5, channels=3)
  ref = random_noise(np.asarray(x), mode='s&p', amount=0.3, salt_vs_pepper=0.7, rng=1)
  got = _apply('salt_pepper', x, amount=0.3, salt_ratio=0.7, per_channel=True)
  for y in (ref, got):
    assert (y != 0.5).mean() == pytest.approx(0.3, abs=0.01)
    assert (y == 1).mean() / (y != 0.5).mean() == pytest.approx(0.7, abs=0.015)
    assert (y[..., 0] != y[..., 1]).mean() > 0.2  # elements, not pixels


# --------------------------------------------------------------------- specs and presets


def test_ranges_are_sampled_per_image_and_batching_does_not_matter():
  spec = {'kind': 'darken', 'amount': (0.1, 0.9)}
  x = jnp.full((16, 4, 4, 1), 0.5)
  y = np.asarray(jax.jit(degradations.build(spec))(KEY, x))
  factors = y[:, 0, 0, 0] / 0.5
  assert len(np.unique(factors)) == 16 and 0.1 <= factors.min() and factors.max() <= 0.9
  keys = jax.random.split(KEY, 16)
  y4 = degradations.degrade_with_keys(spec)(keys[4:8], x[4:8])
  np.testing.assert_allclose(y[4:8], y4, atol=1e-7)


@pytest.fixture(scope='module')
def preset_outputs():
  """Every preset on a random colour batch, and quality_mix on flat grey: one jit, one compile."""
  x = jax.random.uniform(KEY, (2, 24, 24, 3))
  grey = jnp.full((40, 8, 8, 3), 0.5)
  # As a config holds them: ConfigDicts, ranges as tuples.
  fns = {n: degradations.build(ml_collections.ConfigDict(degradations.resolve(n)))
         for n in degradations.PRESETS}
  mix = degradations.build(degradations.resolve('quality_mix'))

  def run_all(key):
    return {n: f(key, x) for n, f in fns.items()}, mix(key, grey)
  outputs, grey_mix = jax.device_get(jax.jit(run_all)(KEY))
  return x.shape, outputs, grey_mix


@pytest.mark.parametrize('name', sorted(degradations.PRESETS))
def test_every_preset_builds_and_runs_under_jit(name, preset_outputs):
  shape, outputs, _ = preset_outputs
  y = outputs[name]
  if name in degradations.SIZE_CHANGING:
    assert y.shape[1] < shape[1]
  else:
    assert y.shape == shape
  assert np.all(np.isfinite(y))
  if name != 'gaussian_s25':  # the benchmarks' noise is unclipped, as DnCNN adds it
    assert y.min() >= 0 and y.max() <= 1
  assert list(degradations.components(degradations.resolve(name)))  # rows of the eval table


def _quality_option(img):
  """Which quality_mix option made `img` from a flat 0.5 grey (values tell them apart)."""
  if np.all(img == img.flat[0]):
    return 'darken' if img.flat[0] < 0.5 else 'brighten'
  if set(np.unique(img)) <= {0.0, 0.5, 1.0}:
    return 'salt_pepper'
  return 'colour_pixels' if (img == 0.5).mean() > 0.2 else 'colour_additive'


def test_one_of_on_a_preset_gives_each_image_its_own_kind(preset_outputs):
  kinds = [_quality_option(img) for img in preset_outputs[2]]
  assert set(kinds) == set(degradations.resolve('quality_mix')['options'])


@pytest.mark.parametrize('name', ['faces_mix', 'quality_mix', 'blur_mix'])
def test_one_of_image_by_image_equals_vectorised(name):
  spec = degradations.resolve(name)
  keys, x = jax.random.split(KEY, 6), jax.random.uniform(KEY, (6, 12, 12, 3))
  vectorised = jax.jit(degradations.degrade_with_keys(spec))(keys, x)
  by_image = jax.jit(degradations.degrade_with_keys(spec, image_by_image=True))(keys, x)
  np.testing.assert_allclose(by_image, vectorised, atol=1e-5)  # the same draws, fused otherwise


def test_one_of_weights():
  spec = {'kind': 'one_of', 'weights': {'darken': 3.0, 'brighten': 1.0, 'never': 0.0},
          'options': {'darken': {'kind': 'darken', 'amount': 0.5},
                      'brighten': {'kind': 'brighten', 'amount': 0.5},
                      'never': {'kind': 'darken', 'amount': 1.0}}}
  y = np.asarray(degradations.build(spec)(KEY, jnp.full((400, 1, 1, 1), 0.5)))[:, 0, 0, 0]
  assert not np.any(y == 0.0)
  assert (y == 0.25).mean() == pytest.approx(0.75, abs=0.07)  # 3.3 standard errors
  assert set(np.unique(y)) == {0.25, 0.75}


def test_cifar_compositions_apply_their_steps_in_order():
  x = _flat(0.5, size=64, channels=3)
  for name, want in (('cifar_type1', 0.8), ('cifar_type1_type2', (0.5 + 0.2) * 1.2),
                     ('cifar_type2_type1', 0.5 * 1.2 + 0.1)):
    y = _apply_spec(degradations.resolve(name), x)
    assert y.mean() == pytest.approx(want, abs=0.01), name


def _apply_spec(spec, x):
  return np.asarray(degradations.build_single(spec)(KEY, x))


@pytest.mark.parametrize('spec,message', [
    ({'kind': 'gaussian'}, 'exactly one of sigma or var'),
    ({'kind': 'gaussian', 'sigma': 0.1, 'var': 0.01}, 'exactly one of sigma or var'),
    ({'kind': 'salt_pepper', 'amount': 1.5}, 'amount must lie in [0, 1]'),
    ({'kind': 'gaussian_blur', 'sigma': 1.0, 'size': (3, 5)}, 'must be a fixed value'),
    ({'kind': 'gaussian_blur', 'sigma': 1.0, 'size': 20}, 'odd positive integer'),
    ({'kind': 'motion_blur', 'length': (3.0, 30.0)}, 'does not fit the 21x21 window'),
    ({'kind': 'downsample', 'factor': 2, 'method': 'lanczos'}, 'method must be one of'),
    ({'kind': 'poisson', 'peak': 0}, 'peak must be > 0'),
    ({'kind': 'nope'}, 'unknown degradation kind'),
])
def test_bad_specs_fail_when_built_with_a_clear_message(spec, message):
  with pytest.raises(degradations.DegradationError) as e:
    degradations.build(spec)
  assert message in str(e.value)


def test_one_of_options_of_different_shapes_are_refused():
  spec = {'kind': 'one_of', 'options': {'noise': {'kind': 'gaussian', 'sigma': 0.1},
                                        'sr': {'kind': 'downsample', 'factor': 2}}}
  with pytest.raises(degradations.DegradationError, match='one shape'):
    jax.eval_shape(degradations.build(spec), KEY, jax.ShapeDtypeStruct((2, 8, 8, 1), jnp.float32))
