"""Seed 000's dual autoencoder with depthwise-separable convolutions (52,445 parameters).

    python main.py --config=configs/dual_sep.py --workdir=runs/dual_sep          # seed 000's recipe
    python main.py --config=configs/dual_sep.py:quick --workdir=runs/dual_sep_quick  # minutes on a CPU
"""
from configs import default


def get_config(arg=None):
  config = default.get_config(arg)
  config.model = 'dual_sep'
  return config
