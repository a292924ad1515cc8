"""Psychalas, "Exploring Convolutional Auto-encoders for Image Denoising" (2024): Model-A, the
study's first CIFAR-10 denoiser (95,307 parameters, no BatchNorm).

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

The study's run 1: MSE, Adam 1e-4, batch 32, 400 epochs of 45,000 images (562,500 steps);
validation PSNR 22.44 dB:
    python main.py --config=configs/cifar_model_a.py --workdir=runs/cifar_model_a
The quick variant, and real images offline, as in configs/cifar_model_c.py:
    python main.py --config=configs/cifar_model_a.py:quick --workdir=runs/cifar_a_quick
"""
from aedenoise.configs import cifar_model_c, default

RECIPE = {**cifar_model_c.RECIPE, 'learning_rate': 1e-4, 'batch_size': 32,
          'num_train_steps': 562_500}


def get_config(arg=None):
  return default.get_config(arg, model='cifar_model_a', recipe=RECIPE,
                            quick=default.quick_run(2000, 32, {'learning_rate': 1e-3}))
