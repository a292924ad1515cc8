"""The training contract every model family shares: BatchNorm statistics over the global batch,
running statistics in evaluation, a VAE's logged loss terms, super-resolution with upscaler rows,
EMA and bfloat16, named losses, and checkpoints read under another optimizer."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from aedenoise import build, losses, optim, validation
from aedenoise.errors import UserError
from aedenoise.evaluation import evaluate, evaluate_checkpoint
from aedenoise.models import MODELS
from aedenoise.restoration import inference
from aedenoise.runtime import checkpoints, parallel
from aedenoise.runtime.writers import read_jsonl
from aedenoise.training import step, train, train_state
from conftest import tiny_config


def cifar_config(model='cifar_model_b_small', **overrides):
  """A CIFAR-10 study model on 16x16 RGB crops of the built-in sources, seconds per run."""
  base = {'data.image_size': (16, 16), 'data.channels': 3, 'loss': 'mse',
          'degradation': {'kind': 'gaussian', 'sigma': 0.1}}
  return tiny_config(model, **{**base, **overrides})


def _steps(config, mesh, batches):
  task = build.task(config)
  st = train_state.create_train_state(task, optim.create_optimizer(config),
                                      parallel.replicated(mesh))
  step_fn = step.make_train_step(task, mesh)
  logged = []
  for batch in batches:
    st, metrics = step_fn(st, {'target': jax.device_put(batch, parallel.batch_sharding(mesh))})
    logged.append(jax.device_get(metrics))
  return logged, jax.device_get(st)


def test_batchnorm_statistics_are_over_the_global_batch():
  config = cifar_config(optimizer='sgd', learning_rate=0.05)
  batches = np.random.default_rng(0).integers(0, 256, (3, 8, 16, 16, 3), dtype=np.uint8)
  one, st_1 = _steps(config, parallel.create_mesh(jax.devices()[:1]), batches)
  eight, st_8 = _steps(config, parallel.create_mesh(), batches)
  np.testing.assert_allclose([m['loss'] for m in one], [m['loss'] for m in eight], rtol=1e-5)
  assert set(st_1.model_state) == {'batch_stats'}  # BatchNorm's statistics: the model's state
  for a, b in zip(jax.tree.leaves(st_1.model_state), jax.tree.leaves(st_8.model_state)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  mean = st_1.model_state['batch_stats']['batch_enc1']['mean']
  assert np.abs(mean).max() > 1e-3  # updated from the batches (initialised at 0)


def test_evaluation_uses_running_statistics():
  """In inference mode an image's output does not depend on the rest of its batch."""
  config = cifar_config()
  task = build.task(config)
  model = task.model
  variables = task.init_variables()
  variables['batch_stats'] = jax.tree.map(lambda x: x + 0.3, variables['batch_stats'])
  x = jax.random.uniform(jax.random.key(0), (4, 16, 16, 3))
  whole = model.apply(variables, x, train=False)
  np.testing.assert_allclose(model.apply(variables, x[:1], train=False), whole[:1], atol=1e-5)
  batch_mode, _ = model.apply(variables, x, train=True, mutable=['batch_stats'])
  assert not np.allclose(batch_mode, whole, atol=1e-3)


def test_vae_logs_reconstruction_and_kl_separately(tmp_path):
  config = cifar_config('cifar_vae', loss='elbo', **{'data.image_size': (32, 32)})
  train.train_and_evaluate(config, str(tmp_path))
  logged = [r for r in read_jsonl(str(tmp_path / 'metrics.jsonl')) if r['kind'] == 'train']
  assert len(logged) == 4
  for r in logged:
    assert r['loss_kl'] >= 0 and r['loss_bce_sum'] > 0
    assert r['loss'] == pytest.approx(r['loss_bce_sum'] + r['loss_kl'], rel=1e-5)


def test_super_resolution_trains_and_is_scored_next_to_classic_upscalers(tmp_path):
  config = cifar_config('sr_deconv', degradation={'kind': 'downsample', 'factor': 2})
  assert build.task(config).input_shape() == (1, 8, 8, 3)
  result = train.train_and_evaluate(config, str(tmp_path))
  methods = [r['method'] for r in result['eval']]
  assert methods == ['nearest', 'bilinear', 'bicubic', 'sr_deconv']
  bicubic, ours = result['eval'][2], result['eval'][3]
  assert ours['gain'] == pytest.approx(ours['psnr'] - bicubic['psnr'])
  assert 'downsample/bicubic_psnr' in read_jsonl(str(tmp_path / 'metrics.jsonl'))[-1]


def test_size_checks_ask_the_model():
  with pytest.raises(UserError, match=r'sr_deconv turns 16x16x3 inputs into 32x32x3, but the '
                     r'targets are 16x16x3'):
    validation.validate(cifar_config('sr_deconv'))
  with pytest.raises(UserError, match='model dual turns 99x99x1 inputs into 100x100x1'):
    validation.validate(tiny_config('dual', **{'data.image_size': (99, 99)}))


def test_ema_and_bfloat16_keep_float32_parameters(tmp_path):
  config = cifar_config(ema_decay=0.5, dtype='bfloat16')
  result = train.train_and_evaluate(config, str(tmp_path))
  assert np.isfinite(result['train']['loss'])
  task = build.task(config)
  variables = inference.load_model(build.task(config), str(tmp_path), parallel.create_mesh()).variables
  leaves = jax.tree.leaves(variables['params'])
  assert all(x.dtype == jnp.float32 for x in leaves)
  ckpt = checkpoints.Checkpointer(str(tmp_path))
  meta = ckpt.read_meta(ckpt.latest_step())
  ckpt.close()
  assert meta['optimizer']['ema'] is True
  st = train_state.create_train_state(task, optim.create_optimizer(config),
                                      parallel.replicated(parallel.create_mesh()))
  restored = checkpoints.Checkpointer(str(tmp_path)).load_train_state(
      st, checkpoints.describe_state(config.model, config.optimizer, st))
  # Evaluation reads the EMA, which lags the trained parameters.
  for ema, used in zip(jax.tree.leaves(restored.ema_params), leaves):
    np.testing.assert_array_equal(ema, used)
  assert not all(np.array_equal(a, b) for a, b in
                 zip(jax.tree.leaves(restored.ema_params), jax.tree.leaves(restored.params)))


def test_eval_under_another_optimizer_works_and_resuming_under_it_is_refused(tmp_path):
  train.train_and_evaluate(cifar_config(num_train_steps=2), str(tmp_path))
  records = evaluate_checkpoint.run(cifar_config(optimizer='sgd', grad_clip_norm=1.0),
                                      str(tmp_path))
  assert {r['method'] for r in records} == {'input', 'cifar_model_b_small'}
  with pytest.raises(UserError, match=r"trained with optimizer 'adam', but the config asks for "
                     r"'sgd'"):
    train.train_and_evaluate(cifar_config(optimizer='sgd', num_train_steps=4), str(tmp_path))
  # Clipping and the learning rate do not change the optimizer state: resuming works.
  result = train.train_and_evaluate(cifar_config(grad_clip_norm=1.0, learning_rate=1e-4),
                                    str(tmp_path))
  assert np.isfinite(result['train']['loss'])


def test_loss_names_weights_and_model_terms():
  objective = losses.Objective.parse('mse+100*l1', 'linear')
  out = jnp.full((2, 4, 4, 1), 0.5)
  target = jnp.zeros((2, 4, 4, 1))
  total, terms = objective(out, target)
  assert terms == {'mse': pytest.approx(0.25), 'l1': pytest.approx(0.5)}
  assert float(total) == pytest.approx(0.25 + 50.0)
  assert losses.Objective.parse('elbo', 'sigmoid').terms == ((1.0, 'bce_sum'), (1.0, 'kl'))
  with pytest.raises(losses.LossError, match='needs a sigmoid-output model'):
    losses.Objective.parse('bce', 'linear')
  with pytest.raises(losses.LossError, match="cannot read the term '2x'"):
    losses.Objective.parse('mse+2x', 'linear')
  with pytest.raises(UserError, match='unknown loss term.*kl'):
    validation.validate(cifar_config(loss='mse+kl'))
  ssim, _ = losses.Objective.parse('ssim', 'linear')(target + 0.25, target + 0.25)
  assert float(ssim) == pytest.approx(0.0, abs=1e-6)


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
  train.train_and_evaluate(cifar_config(num_train_steps=2), str(tmp_path))
  with pytest.raises(UserError, match=r"model 'cifar_model_b_small' \(5,539 parameters\).*"
                     r"'cifar_model_c' \(80,515 parameters\)"):
    evaluate_checkpoint.run(cifar_config('cifar_model_c'), str(tmp_path))
  assert evaluate.reference_method([{'degradation': 'd', 'method': 'bicubic'}], 'd') == 'bicubic'


class _Counting(nn.Module):
  """A family whose state collection has a name of its own: it counts the images it trained on."""
  output_activation: str = 'sigmoid'

  @nn.compact
  def __call__(self, x, train: bool = False):
    seen = self.variable('counters', 'images', lambda: jnp.zeros((), jnp.float32))
    if train and not self.is_initializing():
      seen.value += x.shape[0]
    return nn.Conv(x.shape[-1], (3, 3), padding='SAME')(x)


def test_a_family_with_a_state_collection_of_its_own_trains_saves_and_resumes(tmp_path,
                                                                               monkeypatch):
  """No trainer, evaluator or checkpoint code names the collection: the contract carries it."""
  monkeypatch.setitem(MODELS, 'counting', _Counting)
  fields = {'data.image_size': (16, 16), 'loss': 'mse'}
  train.train_and_evaluate(tiny_config('counting', num_train_steps=2, **fields), str(tmp_path))
  train.train_and_evaluate(tiny_config('counting', **fields), str(tmp_path))  # resumes at 2
  loaded = inference.load_model(build.task(tiny_config('counting', **fields)), str(tmp_path),
                                parallel.create_mesh())
  assert loaded.step == 4
  assert float(loaded.variables['counters']['images']) == 4 * 8  # four steps of batch 8
