"""Krzak et al., "Image quality improvement with autoencoders" (DTU, 2022): the CIFAR-10
variational autoencoder (522,519 parameters, 10 latent dimensions).

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

Loss `elbo`: BCE summed per image plus the KL divergence (beta 1); the log shows both terms
(`loss_bce_sum`, `loss_kl`). The study's VAE used Adam 1e-3 (weight decay 1e-5, not applied
here), batch 128, 20 epochs (7,812 steps); it reconstructs, and here it restores images with the
study's colourful noise, N(0, 0.2^2) per pixel and channel. Evaluation uses z = mu.
    python main.py --config=configs/cifar_vae.py --workdir=runs/cifar_vae
The quick variant, and real images offline, as in configs/cifar_model_c.py:
    python main.py --config=configs/cifar_vae.py:quick --workdir=runs/cifar_vae_quick
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import cifar10
from aedenoise.degradations import presets

RECIPE = {**cifar10.DATA, 'degradation': presets.PRESETS['quality_colour_additive'],
          'loss': 'elbo', 'learning_rate': 1e-3, 'batch_size': 128, 'num_train_steps': 7_812,
          'checkpoint_every_steps': 1_000, 'eval_every_steps': 0}


def get_config(arg=None):
  return default.get_config(arg, model='cifar_vae', recipe=RECIPE,
                            quick=default.quick_run(2000, 32))
