"""Seed 000's single autoencoder with depthwise-separable convolutions (15,760 parameters).

    python main.py --config=configs/single_sep.py --workdir=runs/single_sep          # seed 000's recipe
    python main.py --config=configs/single_sep.py:quick --workdir=runs/single_sep_quick  # minutes on a CPU
"""
from configs import default


def get_config(arg=None):
  config = default.get_config(arg)
  config.model = 'single_sep'
  return config
