"""Khan et al., "Image Denoise with AutoEncoder" (North South University, CSE445, 2021): the
real-noise study's linear convolutional autoencoder (3,023,235 parameters), trained on SIDD pairs.

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

The study's recipe: MSE, Adam 1e-4, batch 4, 256x256x3 pairs, random flips and rot90, 100 epochs of
200 steps (20,000 steps); 128 training / 32 test pairs of SIDD-Small (80/20 split). On real pairs:
    python main.py --config=configs/sidd_linear_ae.py --workdir=runs/sidd_linear_ae \
      --config.data.train=pairs:../shared/data/sidd_samples/noisy,../shared/data/sidd_samples/gt \
      --config.data.eval=pairs:../shared/data/sidd_samples/noisy,../shared/data/sidd_samples/gt \
      --config.data.train_split=train --config.data.eval_split=test
Without pairs the default trains on clean images (dead leaves, or `folder:` photos of your own)
with synthetic Poisson-Gaussian noise from SIDD's noise level function (preset `sidd_nlf`).

Scale: the study fed uint8 images in 0-255 to the network and reports MSE on that scale (train
48.31, validation 61.08 after 100 epochs); this project's images are in [0, 1], so the same errors
read 48.31 / 255^2 = 7.43e-4 and 61.08 / 255^2 = 9.39e-4, i.e. 31.29 and 30.27 dB PSNR
(10 log10(255^2 / MSE)). The network is linear with a global residual, so the scale changes only
the biases' and the learning rate's meaning. The study's results beside this project's:
python -m aedenoise.study sidd_linear_ae (docs/STUDIES.md).

The quick variant trains on 32x32 crops (the model is fully convolutional) and evaluates on 256x256
centre crops (`data.eval_image_size`); on the 12 SIDD sample pairs, 9 train and 3 test
(cost and result in docs/STUDIES.md):
    python main.py --config=configs/sidd_linear_ae.py:quick --workdir=runs/sidd_quick \
      --config.data.train=pairs:../shared/data/sidd_samples/noisy,../shared/data/sidd_samples/gt \
      --config.data.eval=pairs:../shared/data/sidd_samples/noisy,../shared/data/sidd_samples/gt \
      --config.data.train_split=train --config.data.eval_split=test --config.data.test_fraction=0.25
"""
from aedenoise.configs import default
from aedenoise.degradations import presets

RECIPE = {'loss': 'mse', 'learning_rate': 1e-4, 'batch_size': 4, 'num_train_steps': 20_000,
          'checkpoint_every_steps': 1_000, 'eval_every_steps': 5_000,
          'data.image_size': (256, 256), 'data.channels': 3,
          # The study: train_test_split(test_size=0.2); no validation set.
          'data.test_fraction': 0.2, 'data.val_fraction': 0.0, 'data.pairs_row': 'real',
          'augment.flip_left_right': True, 'augment.flip_up_down': True, 'augment.rot90': True,
          'degradation': presets.PRESETS['sidd_nlf'],
          'eval.batch_size': 2, 'eval.grid_images': 3}

QUICK = default.quick_run(600, 4, {'data.image_size': (32, 32),
                                   'data.eval_image_size': (256, 256), 'eval.batch_size': 1,
                                   'eval.grid_images': 1})


def get_config(arg=None, model='sidd_linear_ae'):
  return default.get_config(arg, model=model, recipe=RECIPE, quick=QUICK)
