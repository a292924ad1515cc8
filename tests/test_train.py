"""The train step and loop: device-count independence, resume, NaN guard, checkpoint safety."""
import importlib
import os
import re

import jax
import numpy as np
import pytest

from aedenoise import build, optim, policy, validation
from aedenoise import input_pipeline
from aedenoise.configs import default
from aedenoise.configs.recipes import dual_autoencoders
from aedenoise.errors import TrainingDiverged, UserError
from aedenoise.models import MODELS
from aedenoise.runtime import checkpoints, parallel
from aedenoise.runtime import workdir as workdir_lib
from aedenoise.runtime.writers import read_jsonl
from aedenoise.training import step, train, train_state
from conftest import tiny_config


def _run_steps(config, mesh, batches):
  task = build.task(config)
  state = train_state.create_train_state(task, optim.create_optimizer(config),
                                         parallel.replicated(mesh))
  step_fn = step.make_train_step(task, mesh)
  losses = []
  for batch in batches:
    state, metrics = step_fn(state, {'target': jax.device_put(batch, parallel.batch_sharding(mesh))})
    losses.append(float(metrics['loss']))
  return losses, jax.device_get(state.params)


def test_one_and_eight_devices_give_the_same_losses():
  assert jax.device_count() == 8, 'conftest asks for 8 host devices'
  # SGD, because its update is linear in the gradient: 8 devices sum the gradient in another
  # order, and Adam's g / (sqrt(v) + eps) turns that float noise on a near-zero gradient into a
  # step of up to the learning rate (measured: 2.4e-4 apart after 3 steps on one CI machine).
  # Adam's losses are compared over 1 and 8 devices end to end in test_kill_resume.py.
  config = tiny_config('dual_skip', optimizer='sgd', learning_rate=0.1)
  batches = np.random.default_rng(0).integers(0, 256, (3, 8, 100, 100, 1), dtype=np.uint8)
  losses_1, params_1 = _run_steps(config, parallel.create_mesh(jax.devices()[:1]), batches)
  losses_8, params_8 = _run_steps(config, parallel.create_mesh(), batches)
  np.testing.assert_allclose(losses_1, losses_8, rtol=1e-5)
  assert losses_1[2] != losses_1[0]  # it trains
  for a, b in zip(jax.tree.leaves(params_1), jax.tree.leaves(params_8)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # measured: at most 5e-8 apart


def test_nonfinite_step_keeps_the_state():
  config = tiny_config(learning_rate=1e38)
  mesh = parallel.create_mesh()
  task = build.task(config)
  state = train_state.create_train_state(task, optim.create_optimizer(config),
                                         parallel.replicated(mesh))
  before = jax.device_get(state.params)
  batch = np.full((8, 100, 100, 1), 128, np.uint8)
  state, metrics = step.make_train_step(task, mesh)(state, {'target': batch})
  assert not bool(metrics['finite'])
  assert int(state.step) == 1  # the next step draws new noise
  for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(jax.device_get(state.params))):
    np.testing.assert_array_equal(a, b)


def test_resume_continues_exactly(tmp_path):
  straight = train.train_and_evaluate(tiny_config(), str(tmp_path / 'a'))
  train.train_and_evaluate(tiny_config(num_train_steps=2), str(tmp_path / 'b'))
  resumed = train.train_and_evaluate(tiny_config(), str(tmp_path / 'b'))
  runs = [read_jsonl(str(tmp_path / w / 'metrics.jsonl')) for w in 'ab']
  losses = [[r['loss'] for r in run if r['kind'] == 'train'] for run in runs]
  assert len(losses[0]) == 4 and losses[0] == losses[1]
  assert straight['eval'] == resumed['eval']
  assert sorted(os.listdir(tmp_path / 'a' / 'eval')) == [
      'builtin_skimage.csv', 'builtin_skimage.json', 'builtin_skimage.md',
      'builtin_skimage_grid.png']
  assert (tmp_path / 'a' / 'curves.png').exists()


def test_nonfinite_updates_are_skipped_within_the_budget(tmp_path):
  config = tiny_config(learning_rate=1e38, max_nonfinite_steps=4)
  result = train.train_and_evaluate(config, str(tmp_path))  # every update non-finite: 4 skipped
  assert np.isfinite([r['psnr'] for r in result['eval']]).all()
  checkpointer = checkpoints.Checkpointer(str(tmp_path))
  assert checkpointer.latest_step() == 4
  checkpointer.close()


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path):
  workdir = str(tmp_path)
  train.train_and_evaluate(tiny_config(num_train_steps=2), workdir)
  first_order = step.data_seed(0, 0)
  with pytest.raises(TrainingDiverged, match=r'last good checkpoint: step 2\).*restart 1'):
    train.train_and_evaluate(tiny_config(learning_rate=1e38, max_nonfinite_steps=1), workdir)
  # The next run takes another data order and noise instead of replaying the same steps.
  assert workdir_lib.read_restarts(workdir) == 1
  assert step.data_seed(0, 1) not in (first_order, step.data_seed(0, 2))
  checkpointer = checkpoints.Checkpointer(workdir)
  assert checkpointer.latest_step() == 2
  config = tiny_config()
  task = build.task(config)
  state = train_state.create_train_state(task, optim.create_optimizer(config),
                                   parallel.replicated(parallel.create_mesh()))
  restored = checkpointer.load_train_state(
      state, checkpoints.describe_state(config.model, config.optimizer, state))
  checkpointer.close()
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(jax.device_get(restored.params)))


def test_a_run_that_cannot_start_leaves_no_folders(tmp_path):
  workdir = tmp_path / 'new' / 'run'
  with pytest.raises(input_pipeline.SourceError, match='folder not found'):
    train.train_and_evaluate(tiny_config(**{'data.train': f'folder:{tmp_path}/absent'}),
                             str(workdir))
  assert not (tmp_path / 'new').exists()


def test_checkpoint_of_another_model_is_refused(tmp_path):
  train.train_and_evaluate(tiny_config('single', num_train_steps=2), str(tmp_path))
  with pytest.raises(UserError, match=r"model 'single' \(36,386 parameters\).*'single_sep'"):
    train.train_and_evaluate(tiny_config('single_sep'), str(tmp_path))


@pytest.mark.parametrize('field, value, message', [
    ('model', 'unet_9000', 'unknown model'), ('loss', 'huber', 'unknown loss'),
    ('batch_size', 0, 'batch_size = 0: must be an integer of at least 1'),
    ('conv_impl', 'fft', 'conv_impl'),
    ('degradation.kind', 'sparkle', 'sparkle')])
def test_bad_config_values_are_user_errors(field, value, message):
  with pytest.raises(UserError, match=message):
    validation.validate(tiny_config(**{field: value}))


def test_config_variant_selects_a_degradation_preset():
  config = default.get_config('quick,degradation=cifar_mix')
  assert config.batch_size == 16 and config.degradation.kind == 'one_of'
  assert config.degradation.to_dict() != default.get_config().degradation.to_dict()
  validation.validate(config)
  with pytest.raises(ValueError, match='unknown degradation preset'):
    default.get_config('degradation=seed999')
  with pytest.raises(UserError, match='model dual_skip cannot take 50x50x1 inputs'):
    validation.validate(default.get_config('degradation=sr_x2'))


def test_every_model_has_a_config_with_its_own_quick_variant():
  # configs/<model>.py for every registry entry; the MNIST models share one config, whose
  # depth/latent variant chooses the model's arguments.
  for name in MODELS:
    module = importlib.import_module(f'aedenoise.configs.{name}')
    quick = module.get_config('quick')
    full = module.get_config(None)
    assert quick.model == full.model == name
    # No download: procedural images, or a TFDS dataset prepared from files beside the repository.
    assert quick.data.train.startswith('builtin:') or quick.data.tfds_manual_dir
    assert quick.num_train_steps < full.num_train_steps
    validation.validate(quick)
    if name in dual_autoencoders.QUICK_STEPS:  # the dual-autoencoder study's recipe
      assert (quick.num_train_steps, quick.batch_size) == (dual_autoencoders.QUICK_STEPS[name], 16)
      assert (full.num_train_steps, full.batch_size) == (45_000, 128)
  grid = importlib.import_module('aedenoise.configs.mnist_dae').get_config('depth=5,latent=8,quick')
  assert dict(grid.model_kwargs) == {'depth': 5, 'latent': 8}
  validation.validate(grid)


def test_a_config_without_its_own_quick_variant_gets_the_default_one():
  config = default.get_config('quick', model='cifar_model_c')
  assert (config.num_train_steps, config.batch_size) == (default.QUICK_STEPS, default.QUICK_BATCH)
  assert config.data.train == 'builtin:dead_leaves'


def test_micro_batches_give_the_whole_batch_update():
  # SGD, as above: the update is linear in the gradient, so the mean of the micro-batches'
  # gradients must give the whole batch's update up to float summation order.
  batches = np.random.default_rng(1).integers(0, 256, (2, 8, 100, 100, 1), dtype=np.uint8)
  mesh = parallel.create_mesh(jax.devices()[:2])
  runs = {m: _run_steps(tiny_config('dual_skip', optimizer='sgd', learning_rate=0.1,
                                    micro_batch_size=m), mesh, batches) for m in (0, 1, 2)}
  for m in (1, 2):
    np.testing.assert_allclose(runs[m][0], runs[0][0], rtol=1e-5)
    for a, b in zip(jax.tree.leaves(runs[m][1]), jax.tree.leaves(runs[0][1])):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_micro_batched_gradients_are_reduced_across_devices_once_per_step():
  # Between processes every all-reduce is a round trip: one in the micro-batch loop, or one per
  # parameter array, made two processes of one core each slower than one process (11 img/s).
  config = tiny_config('dual_skip', micro_batch_size=1)
  mesh = parallel.create_mesh(jax.devices()[:2])
  task = build.task(config)
  state = train_state.create_train_state(task, optim.create_optimizer(config),
                                         parallel.replicated(mesh))
  batch = {'target': jax.device_put(np.zeros((4, 100, 100, 1), np.uint8),
                                    parallel.batch_sharding(mesh))}
  hlo = step.make_train_step(task, mesh).lower(state, batch).compile().as_text()
  reduces = re.findall(r'= (.*?) all-reduce(?:-start)?\(', hlo)
  assert len(reduces) == 1, reduces
  # Every gradient, the loss and its one term, in one vector.
  sizes = [int(n) for n in re.findall(r'f32\[(\d+)\]', reduces[0])]
  assert sizes == [sum(x.size for x in jax.tree.leaves(state.params)) + 2]
  assert 'all-gather' not in hlo  # each device degrades its own images (make_degrade)
  entry = hlo[hlo.index('\nENTRY'):]
  assert 'all-reduce' in entry[:entry.index('\n}')]  # in the step itself, not in its loop


def test_micro_batch_sizes_are_resolved_or_refused_in_one_line():
  on_cpu = jax.default_backend() == 'cpu'
  assert policy.micro_batches('auto', 16, 2, has_state=False) == (8 if on_cpu else 1)
  assert policy.micro_batches('auto', 16, 2, has_state=True) == 1
  assert policy.micro_batches(0, 16, 2, has_state=False) == 1
  assert policy.micro_batches('4', 16, 2, has_state=False) == 2
  assert policy.micro_batches(8, 16, 2, has_state=True) == 1  # the whole batch anyway
  with pytest.raises(UserError, match='BatchNorm'):
    policy.micro_batches(2, 16, 2, has_state=True)
  with pytest.raises(UserError, match='does not divide the 8 images per device'):
    policy.micro_batches(3, 16, 2, has_state=False)
  with pytest.raises(UserError, match="micro_batch_size = 'two'"):
    validation.validate(tiny_config('dual_skip', micro_batch_size='two'))
