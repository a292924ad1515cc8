"""Lalaj (University of British Columbia): denoising autoencoders on MNIST, depth {1, 3, 5} x latent
{13x13, 8x8, 5x5} x 4 channels (`aedenoise/models/mnist_dae.py`, 2,053 to 121,077 parameters).

The study's recipe: noisy = clip(x + 0.5 N(0, 1), 0, 1) (preset `mnist_gaussian`), MSE, Adam,
15 epochs on an 80/20 train/validation split of MNIST's 60,000 training images (48,000 / 12,000),
validation loss every epoch, test loss on the 10,000 test images (`data.test`, scored by the grid
runner). Not stated by the study: learning rate (Adam's default 1e-3 here) and batch size (64 here:
750 steps per epoch, 11,250 steps). MSE is the mean over pixels (torch's default `nn.MSELoss()`);
the report's formula sums over each image's 784 pixels, a constant factor.

Variants, combinable: `depth=D,latent=L` picks DAE_D_L (D in 1, 3, 5; L in 13, 8, 5; default
DAE_1_13); `quick` (a short run); `degradation=PRESET` (a named degradation).

One model, MNIST prepared offline by TFDS from ../shared/data/mnist (docs/DATA.md):
    python main.py --config=configs/mnist_dae.py:depth=5,latent=8 --workdir=runs/mnist_dae_d5_l8
The whole grid, its figures and table beside the study's (docs/STUDIES.md):
    python -m aedenoise.study mnist_grid --workdir=runs/mnist_grid
With network access, clear `--config.data.tfds_manual_dir=` and TFDS downloads MNIST itself.
"""
from aedenoise.configs import default
from aedenoise.degradations import presets
from aedenoise.models import mnist_dae

EPOCH_STEPS = 48_000 // 64
# XLA's own convolutions for depths 1 and 3: with kernels of up to 24x24 on 28x28 images, the CPU's
# im2col formulation would gather hundreds of taps per layer. Depth 5's 5x5 kernels on 32 channels
# are the opposite case, where im2col is the faster one (`get_config`; docs/STUDIES.md).
RECIPE = {'conv_impl': 'lax', 'loss': 'mse', 'learning_rate': 1e-3, 'batch_size': 64,
          'num_train_steps': 15 * EPOCH_STEPS, 'log_every_steps': EPOCH_STEPS // 5,
          'checkpoint_every_steps': EPOCH_STEPS, 'eval_every_steps': EPOCH_STEPS,
          'data.train': 'tfds:mnist', 'data.train_split': 'train',
          'data.eval': 'tfds:mnist', 'data.eval_split': 'val',
          'data.test_fraction': 0.0, 'data.val_fraction': 0.2,
          'data.test': 'tfds:mnist:test',  # scored by the study runner after training
          'data.num_test': 0,  # test images scored (0 = all)
          'data.tfds_data_dir': 'workdirs/tfds', 'data.tfds_manual_dir': '../shared/data/mnist',
          'data.image_size': (28, 28), 'data.channels': 1,
          'degradation': presets.PRESETS['mnist_gaussian'],
          'eval.batch_size': 500, 'eval.grid_images': 8}

# A quick run: 400 steps of batch 64 (0.53 epoch), validation on 1,000 images every 100 steps,
# test loss on the first 2,000 test images.
QUICK = {'num_train_steps': 400, 'log_every_steps': 25, 'checkpoint_every_steps': 200,
         'eval_every_steps': 100, 'data.num_eval': 1000, 'data.num_test': 2000}


def split_variant(arg) -> tuple[dict, list]:
  """'depth=5,latent=8,quick' -> ({'depth': 5, 'latent': 8}, [('quick', None)]): the model's
  arguments, and the variants left for default.py (default.parse_variants)."""
  chosen = {'depth': 1, 'latent': 13}
  rest = []
  for name, value in default.parse_variants(arg):
    if name in chosen:
      if not (value or '').isdigit():
        raise ValueError(f'{name} must be a whole number, got {value!r}')
      chosen[name] = int(value)
    else:
      rest.append((name, value))
  if (chosen['depth'], chosen['latent']) not in mnist_dae.KERNELS:
    raise ValueError(f'no MNIST model of depth {chosen["depth"]} and latent {chosen["latent"]}; '
                     f'known: depth 1, 3, 5 x latent 13, 8, 5')
  return chosen, rest


def get_config(arg=None):
  kwargs, rest = split_variant(arg)
  recipe = dict(RECIPE, model_kwargs=kwargs, conv_impl='matmul' if kwargs['depth'] == 5 else 'lax')
  return default.get_config(rest, model='mnist_dae', recipe=recipe, quick=QUICK,
                            known=('depth=D', 'latent=L'))
