"""Khandelwal & Sharma, "Denoising and Deblurring Images using Dual Autoencoders" (2023):
the dual autoencoder with skips and depthwise-separable convolutions (56,231 parameters).

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

The study's recipe, 45,000 steps at batch 128 (about 33 h on a 2-core CPU; meant for an accelerator):
    python main.py --config=configs/dual_skip_sep.py --workdir=runs/dual_skip_sep
The quick variant, 400 steps at batch 16 (1m55s on a 2-core CPU, docs/PERFORMANCE.md):
    python main.py --config=configs/dual_skip_sep.py:quick --workdir=runs/dual_skip_sep_quick
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import dual_autoencoders


def get_config(arg=None):
  return default.get_config(arg, model='dual_skip_sep',
                            quick=dual_autoencoders.quick('dual_skip_sep'))
