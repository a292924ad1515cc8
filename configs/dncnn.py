"""DnCNN (Zhang et al. 2017), a residual denoiser for photos: depth 17, 64 features, BatchNorm
(556,097 parameters for grey images).

Variants, combinable: `grey` (default) or `colour`; `sigma=S` (default 25) or `blind` (sigma drawn
per image in [0, 55], as DnCNN-B); `method=noise2noise` or `method=neighbor2neighbor`
(self-supervised); `quick` (300 steps on procedural images, no download);
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

Data and recipe: configs/recipes/photo_denoising.py (Train400 patches; Adam 1e-3, cosine, batch
64, 30,000 steps).
    python main.py --config=configs/dncnn.py:blind --workdir=runs/dncnn_blind
    python -m aedenoise.benchmark --workdir=runs/dncnn_blind --sets=bsd68=../shared/data/bsd68 \
        --sigma=15,25,50 --output=runs/dncnn_blind/benchmark
A full run is measured in docs/BENCHMARKS.md; it is long on a CPU (configs/unet.py is cheaper).
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import photo_denoising


def get_config(arg=None):
  recipe, rest = photo_denoising.variant(arg)
  return default.get_config(rest, model='dncnn', recipe=recipe,
                            quick=photo_denoising.QUICK,
                            known=photo_denoising.VARIANTS)
