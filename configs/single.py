"""Khandelwal & Sharma, "Denoising and Deblurring Images using Dual Autoencoders" (2023):
the single autoencoder (36,386 parameters).

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

The study's recipe, 45,000 steps at batch 128 (about 13 h on a 2-core CPU; meant for an accelerator):
    python main.py --config=configs/single.py --workdir=runs/single
The quick variant, 1600 steps at batch 16 (2m22s on a 2-core CPU, docs/PERFORMANCE.md):
    python main.py --config=configs/single.py:quick --workdir=runs/single_quick
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import dual_autoencoders


def get_config(arg=None):
  return default.get_config(arg, model='single', quick=dual_autoencoders.quick('single'))
