"""Krzak et al., "Image quality improvement with autoencoders" (DTU, 2022): the denoising
autoencoder with max pooling (23,659 parameters; 2x2x8 bottleneck) on CIFAR-10.

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

The study trained it on colourful noise (its code: N(0, 0.2^2) per pixel and channel) with MSE and
Adam 1e-3 (weight decay 1e-5, not applied here) at batch 1 for 3 epochs; here batch 32 for the
same 3 epochs of 50,000 images (4,688 steps). `:degradation=quality_mix` trains on all its noises:
    python main.py --config=configs/cifar_pool_ae.py --workdir=runs/cifar_pool_ae
The quick variant, and real images offline, as in configs/cifar_model_c.py:
    python main.py --config=configs/cifar_pool_ae.py:quick --workdir=runs/cifar_pool_quick
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import cifar10
from aedenoise.degradations import presets

RECIPE = {**cifar10.DATA, 'degradation': presets.PRESETS['quality_colour_additive'],
          'learning_rate': 1e-3, 'batch_size': 32, 'num_train_steps': 4_688,
          'checkpoint_every_steps': 1_000, 'eval_every_steps': 0}


def get_config(arg=None):
  return default.get_config(arg, model='cifar_pool_ae', recipe=RECIPE,
                            quick=default.quick_run(2000, 32, {'learning_rate': 3e-3}))
