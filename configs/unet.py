"""A small U-Net denoiser for photos: three scales of 32, 64 and 128 features, residual (599,265
parameters for grey images); most of its work runs at half and quarter resolution, so it is
cheaper per pixel than DnCNN on a CPU.

Variants, combinable: `grey` (default) or `colour`; `sigma=S` (default 25) or `blind` (sigma drawn
per image in [0, 55]); `method=noise2noise` or `method=neighbor2neighbor` (self-supervised);
`quick` (300 steps on procedural images, no download); `degradation=PRESET` (a named
degradation of docs/DEGRADATIONS.md).

Data and recipe: configs/recipes/photo_denoising.py (Train400 patches; Adam 1e-3, cosine, batch
64, 30,000 steps).
    python main.py --config=configs/unet.py:blind --workdir=runs/unet_blind
    python -m aedenoise.benchmark --workdir=runs/unet_blind --sets=bsd68=../shared/data/bsd68 \
        --sigma=15,25,50 --output=runs/unet_blind/benchmark
The shipped models' recipes, costs and scores: pretrained/*/README.md and docs/BENCHMARKS.md.
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import photo_denoising


def get_config(arg=None):
  recipe, rest = photo_denoising.variant(arg)
  return default.get_config(rest, model='unet', recipe=recipe,
                            quick=photo_denoising.QUICK,
                            known=photo_denoising.VARIANTS)
