"""Seed 000's dual autoencoder (87,812 parameters).

    python main.py --config=configs/dual.py --workdir=runs/dual          # seed 000's recipe
    python main.py --config=configs/dual.py:quick --workdir=runs/dual_quick  # minutes on a CPU
"""
from configs import default


def get_config(arg=None):
  config = default.get_config(arg)
  config.model = 'dual'
  return config
