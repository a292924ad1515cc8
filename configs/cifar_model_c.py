"""Psychalas, "Exploring Convolutional Auto-encoders for Image Denoising" (2024): Model-C, the
study's best CIFAR-10 denoiser (80,515 parameters, BatchNorm after every hidden layer).

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

The study's run 38: MSE, Adam 5e-3, batch 128, 300 epochs of 40,000 images (93,750 steps), one
of its four Type-I/Type-II noise cases per image (docs/DEGRADATIONS.md); validation PSNR 26.95 dB:
    python main.py --config=configs/cifar_model_c.py --workdir=runs/cifar_model_c
The quick variant (no download; numbers and cost in docs/PERFORMANCE.md):
    python main.py --config=configs/cifar_model_c.py:quick --workdir=runs/cifar_c_quick
On real CIFAR-10 images without a network, e.g. the JPEG test set and 200 lossless training images:
    python main.py --config=configs/cifar_model_c.py:quick --workdir=runs/cifar_c_real \
      --config.data.train=folder:../shared/data/cifar10_test_jpeg \
      --config.data.eval=folder:../shared/data/cifar10_lossless/train
The author's own trained weights (37.pt, 38.pt) load with --mode=import (README.md).
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import cifar10
from aedenoise.degradations import presets

RECIPE = {**cifar10.DATA, 'degradation': presets.PRESETS['cifar_mix'],
          'learning_rate': 5e-3, 'batch_size': 128, 'num_train_steps': 93_750,
          'checkpoint_every_steps': 5_000, 'eval_every_steps': 10_000}


def get_config(arg=None, model='cifar_model_c'):
  return default.get_config(arg, model=model, recipe=RECIPE,
                            quick=default.quick_run(2000, 32, {'learning_rate': 3e-3}))
