"""Seed 000's dual autoencoder with skip connections (91,488 parameters).

    python main.py --config=configs/dual_skip.py --workdir=runs/dual_skip          # seed 000's recipe
    python main.py --config=configs/dual_skip.py:quick --workdir=runs/dual_skip_quick  # minutes on a CPU
"""
from configs import default


def get_config(arg=None):
  config = default.get_config(arg)
  config.model = 'dual_skip'
  return config
