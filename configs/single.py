"""Seed 000's single autoencoder (36,386 parameters).

    python main.py --config=configs/single.py --workdir=runs/single          # seed 000's recipe
    python main.py --config=configs/single.py:quick --workdir=runs/single_quick  # minutes on a CPU
"""
from configs import default


def get_config(arg=None):
  config = default.get_config(arg)
  config.model = 'single'
  return config
