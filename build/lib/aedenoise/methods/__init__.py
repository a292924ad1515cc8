"""Training methods: how a training batch becomes the model's inputs and targets, and the loss the
step minimises. A plain dict; `config.method` names one. A new method is a module and one line.

* `supervised`: degraded input -> clean target (or a pair read from disk: with two noisy shots of
  one scene as a `pairs:` source, this is Noise2Noise from real data);
* `noise2noise`: the target is an independently degraded copy of the same image (Lehtinen et al.
  2018), for synthetic noise;
* `neighbor2neighbor`: one noisy image alone (Huang et al. 2021): two sub-images drawn from each
  2x2 cell, one the input and the other the target, with its regulariser; for a folder of noisy
  images, with `degradation` `identity`.
"""
from aedenoise.methods import neighbor2neighbor, noise2noise, supervised
from aedenoise.methods.base import Method

METHODS: dict[str, Method] = {
    'supervised': supervised.METHOD,
    'noise2noise': noise2noise.METHOD,
    'neighbor2neighbor': neighbor2neighbor.METHOD,
}
