"""Seed 000's dual autoencoder with skips and depthwise-separable convolutions (56,231 parameters).

    python main.py --config=configs/dual_skip_sep.py --workdir=runs/dual_skip_sep          # seed 000's recipe
    python main.py --config=configs/dual_skip_sep.py:quick --workdir=runs/dual_skip_sep_quick  # minutes on a CPU
"""
from configs import default


def get_config(arg=None):
  config = default.get_config(arg)
  config.model = 'dual_skip_sep'
  return config
