"""Khandelwal & Sharma, "Denoising and Deblurring Images using Dual Autoencoders" (2023):
the single autoencoder with depthwise-separable convolutions (15,760 parameters).

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

The study's recipe, 45,000 steps at batch 128 (about 9 h on a 2-core CPU; meant for an accelerator):
    python main.py --config=configs/single_sep.py --workdir=runs/single_sep
The quick variant, 1600 steps at batch 16 (1m56s on a 2-core CPU, docs/PERFORMANCE.md):
    python main.py --config=configs/single_sep.py:quick --workdir=runs/single_sep_quick
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import dual_autoencoders


def get_config(arg=None):
  return default.get_config(arg, model='single_sep',
                            quick=dual_autoencoders.quick('single_sep'))
