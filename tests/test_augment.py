"""On-device augmentation (the real-noise (SIDD) study), paired training inputs, and the real-noise evaluation row."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from aedenoise import augment, build
from aedenoise import input_pipeline
from aedenoise.configs import default
from aedenoise.errors import UserError
from aedenoise.evaluation import evaluate
from aedenoise.runtime import parallel


def aug_config(**values):
  config = default.get_config().augment
  config.update(values)
  return config


def images(batch=16, size=8, channels=3, seed=0):
  return jax.random.uniform(jax.random.key(seed), (batch, size, size, channels))


def test_off_by_default_and_degradation_noise_unchanged():
  assert augment.build(default.get_config().augment, (8, 8), 1) is None
  degrade = lambda key, x: x + jax.random.normal(key, x.shape)
  prepare = augment.make_prepare(degrade, default.get_config().augment, (8, 8), 3)
  batch = (np.asarray(images()) * 255).astype(np.uint8)
  key = jax.random.key(5)
  noisy, clean = prepare(key, {'target': batch})
  np.testing.assert_allclose(clean, batch / 255.0, atol=1e-6)
  np.testing.assert_allclose(noisy, degrade(key, clean), atol=1e-6)


def test_geometric_transforms_permute_pixels_and_vary_per_image():
  fn = augment.build(aug_config(flip_left_right=True, flip_up_down=True, rot90=True), (8, 8), 3)
  x = images()
  y = fn(jax.random.key(1), x)
  for a, b in zip(np.asarray(x), np.asarray(y)):  # same pixels, moved
    np.testing.assert_array_equal(np.sort(a.reshape(-1, 3), 0), np.sort(b.reshape(-1, 3), 0))
  changed = [not np.array_equal(a, b) for a, b in zip(np.asarray(x), np.asarray(y))]
  assert 8 <= sum(changed) < 16  # 1/16 of images keep all three transforms off
  np.testing.assert_array_equal(fn(jax.random.key(1), x), y)  # same key, same result
  assert not np.array_equal(fn(jax.random.key(2), x), y)


def test_photometric_shifts_are_bounded():
  x = images() * 0.5 + 0.25
  y = augment.build(aug_config(brightness=0.1), (8, 8), 3)(jax.random.key(0), x)
  shift = np.asarray(y - x).reshape(16, -1)
  np.testing.assert_allclose(shift, shift[:, :1] * np.ones_like(shift), atol=1e-6)  # one per image
  assert np.abs(shift).max() <= 0.1 + 1e-6 and np.std(shift[:, 0]) > 0.01
  z = augment.build(aug_config(hue=0.1), (8, 8), 3)(jax.random.key(0), x)
  gray = lambda im: np.asarray(im).max(-1) + np.asarray(im).min(-1)  # HSL lightness is hue-free
  np.testing.assert_allclose(gray(z), gray(x), atol=1e-5)
  assert np.abs(np.asarray(z - x)).max() > 0.01


def test_invalid_settings_fail_validation():
  with pytest.raises(UserError, match='square'):
    augment.build(aug_config(rot90=True), (8, 12), 1)
  with pytest.raises(UserError, match='RGB'):
    augment.build(aug_config(hue=0.1), (8, 8), 1)
  with pytest.raises(UserError, match='unknown augment'):
    augment.build(ml_collections.ConfigDict({'zoom': 1.0}), (8, 8), 1)


def test_pairs_get_one_transform_for_input_and_target():
  cfg = aug_config(flip_left_right=True, rot90=True, hue=0.2, brightness=0.2)
  prepare = augment.make_prepare(None, cfg, (8, 8), 3)
  clean = np.asarray(images() * 200).astype(np.uint8)
  batch = {'input': clean, 'target': clean}  # input == target: they must stay equal
  noisy, out_clean = jax.jit(prepare)(jax.random.key(3), batch)
  np.testing.assert_allclose(noisy, out_clean, atol=1e-6)
  assert not np.allclose(out_clean, clean / 255.0, atol=1e-3)
  # A low-resolution input (half the size) moves with its target: flips and rotations commute
  # with 2x2 block averaging.
  cfg = aug_config(flip_left_right=True, flip_up_down=True, rot90=True)
  prepare = augment.make_prepare(None, cfg, (8, 8), 3)
  small = clean.reshape(16, 4, 2, 4, 2, 3).mean((2, 4))
  low, high = jax.jit(prepare)(jax.random.key(4), {'input': small.astype(np.uint8),
                                                   'target': clean})
  blocks = np.asarray(high).reshape(16, 4, 2, 4, 2, 3).mean((2, 4))
  np.testing.assert_allclose(np.asarray(low), np.floor(blocks * 255 + 1e-4) / 255, atol=1e-6)


def test_evaluator_scores_real_pairs_in_one_row():
  config = default.get_config()
  config.model = 'single'
  config.eval.batch_size = 8
  config.data.pairs_row = 'real'  # camera captures, as SIDD's
  task = build.task(config)
  model = task.model
  mesh = parallel.create_mesh()
  variables = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 100, 100, 1)))
  rng = np.random.default_rng(0)
  clean = rng.integers(0, 256, (5, 100, 100, 1), dtype=np.uint8)
  noisy = np.clip(clean + rng.normal(0, 10, clean.shape), 0, 255).astype(np.uint8)
  eval_set = input_pipeline.EvalSet('pairs_x', clean, {}, noisy)
  records, samples = evaluate.Evaluator(task, mesh).run(variables, eval_set)
  assert [r['degradation'] for r in records] == ['real'] * 2
  assert [r['method'] for r in records] == ['input', 'single'] and list(samples) == ['real']
  mse = ((noisy / 255.0 - clean / 255.0) ** 2).reshape(5, -1).mean(1)
  expected = np.mean(10 * np.log10(1.0 / mse))
  assert records[0]['images'] == 5
  np.testing.assert_allclose(records[0]['psnr'], expected, rtol=1e-5)
  assert records[1]['gain'] == records[1]['psnr'] - records[0]['psnr']
