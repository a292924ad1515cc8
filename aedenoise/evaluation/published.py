"""Published PSNR figures (dB) that benchmark tables show beside their own rows, with sources.

Zhang et al., "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image Denoising" (IEEE
TIP 2017), Tables II and III: BM3D and DnCNN-S on BSD68 and Set12 (averages), under the convention
aedenoise/evaluation/testsets.py follows. The noisy input's figure is 20 log10(255 / sigma).
"""
import math

SOURCE = 'Zhang et al., DnCNN, IEEE TIP 2017, Tables II-III'
# (set, sigma, method) -> PSNR (dB)
PSNR = {
    ('bsd68', 15, 'bm3d'): 31.07, ('bsd68', 25, 'bm3d'): 28.57, ('bsd68', 50, 'bm3d'): 25.62,
    ('set12', 15, 'bm3d'): 32.37, ('set12', 25, 'bm3d'): 29.97, ('set12', 50, 'bm3d'): 26.72,
    ('bsd68', 15, 'DnCNN-S'): 31.72, ('bsd68', 25, 'DnCNN-S'): 29.23,
    ('bsd68', 50, 'DnCNN-S'): 26.23,
    ('set12', 15, 'DnCNN-S'): 32.86, ('set12', 25, 'DnCNN-S'): 30.44,
    ('set12', 50, 'DnCNN-S'): 27.18,
}
# Methods that appear only through their published figure (no implementation here).
PUBLISHED_ONLY = ('DnCNN-S',)


def psnr(set_name: str, sigma: int, method: str, noisy: str = 'noisy') -> float | None:
  if method == noisy:
    return round(20 * math.log10(255 / sigma), 2)
  return PSNR.get((set_name.lower(), sigma, method))
