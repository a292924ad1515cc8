"""Khandelwal & Sharma, "Denoising and Deblurring Images using Dual Autoencoders" (2023):
the dual autoencoder (87,812 parameters).

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

The study's recipe, 45,000 steps at batch 128 (about 37 h on a 2-core CPU; meant for an accelerator):
    python main.py --config=configs/dual.py --workdir=runs/dual
The quick variant, 800 steps at batch 16 (3m21s on a 2-core CPU, docs/PERFORMANCE.md):
    python main.py --config=configs/dual.py:quick --workdir=runs/dual_quick
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import dual_autoencoders


def get_config(arg=None):
  return default.get_config(arg, model='dual', quick=dual_autoencoders.quick('dual'))
