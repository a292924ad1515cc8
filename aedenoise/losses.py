"""Training losses: per-image terms, summed with the weights the config names.

`config.loss` is a `+`-separated sum of terms, each `[weight*]name`: `mse`, `bce`, `mse+100*l1`
(the image-quality study's ResNet loss), `ssim`, `0.5*ssim+mse`, `elbo`. Names:

* reconstruction terms, comparing the model's output (after its activation) with the target, one
  value per image: `mse`, `l1`, `bce` (means over pixels); `mse_sum`, `bce_sum` (sums over pixels,
  as torch's reduction='sum' per image); `ssim` (1 - SSIM) and `psnr` (-PSNR in dB), the two
  metric losses the image-quality study trained with. BCE is computed from the logits, so it needs
  a sigmoid-output model;
* model terms: any name a model records with `self.sow(contract.LOSSES, name, per_image_values)`, such as
  the VAE's `kl`;
* `elbo` = `bce_sum+kl`, the VAE's negative evidence lower bound with beta 1; write
  `bce_sum+4*kl` for another beta.

The total is the weighted sum of each term's batch mean; every term is logged by name.
"""
from __future__ import annotations

import dataclasses
import math
import re

import dm_pix
import jax
import jax.numpy as jnp
import optax

from aedenoise.errors import UserError
from aedenoise.models import contract

ALIASES = {'elbo': 'bce_sum+kl'}


class LossError(UserError, ValueError):
  """A loss the config names cannot be built; the message says which term and why."""


def _per_image(x, reduce=jnp.mean):
  return reduce(x.reshape(x.shape[0], -1), axis=1)


def _bce(outputs, target):
  return optax.sigmoid_binary_cross_entropy(outputs, target)


# name -> (fn(logits, images, target) -> [B], needs a sigmoid output); `logits` are the model's
# outputs before its activation, `images` after it.
RECONSTRUCTION = {
    'mse': (lambda logits, images, target: _per_image(jnp.square(images - target)), False),
    'mse_sum': (lambda logits, images, target: _per_image(jnp.square(images - target), jnp.sum),
                False),
    'l1': (lambda logits, images, target: _per_image(jnp.abs(images - target)), False),
    'bce': (lambda logits, images, target: _per_image(_bce(logits, target)), True),
    'bce_sum': (lambda logits, images, target: _per_image(_bce(logits, target), jnp.sum), True),
    'ssim': (lambda logits, images, target: 1.0 - dm_pix.ssim(images, target, max_val=1.0), False),
    'psnr': (lambda logits, images, target: -dm_pix.psnr(images, target), False),
}

_TERM = re.compile(r'^\s*(?:(?P<weight>[0-9.eE+-]+)\s*\*\s*)?(?P<name>[A-Za-z_]\w*)\s*$')


def sown_terms(collection) -> dict[str, jax.Array]:
  """{name: per-image values} from a model's loss-terms collection (sow keeps a tuple per name,
  nested by submodule); values recorded more than once under one name are added."""
  out: dict[str, jax.Array] = {}
  for path, value in jax.tree_util.tree_leaves_with_path(collection or {}):
    name = next(p.key for p in reversed(path) if isinstance(p, jax.tree_util.DictKey))
    out[name] = out[name] + value if name in out else value
  return out


@dataclasses.dataclass(frozen=True)
class Objective:
  """The loss of one config: weighted terms, each a reconstruction or a model term."""
  terms: tuple[tuple[float, str], ...]
  activation: str

  @classmethod
  def parse(cls, text: str, activation: str) -> 'Objective':
    text = ALIASES.get(str(text).strip(), str(text))
    terms = []
    for part in text.split('+'):
      match = _TERM.match(part)
      if not match:
        raise LossError(f'loss {text!r}: cannot read the term {part.strip()!r}; write '
                        f'[weight*]name, e.g. mse+100*l1')
      try:
        weight = float(match['weight']) if match['weight'] else 1.0
      except ValueError:
        raise LossError(f'loss {text!r}: {match["weight"]!r} is not a number') from None
      name = match['name']
      if not math.isfinite(weight) or weight < 0:
        raise LossError(f'loss {text!r}: the weight of {name} is {weight:g}; weights are finite '
                        f'and not negative (a negative one rewards the error; 0 logs a term '
                        f'without training on it)')
      if name in RECONSTRUCTION and RECONSTRUCTION[name][1] and activation != 'sigmoid':
        raise LossError(f'loss {name} needs a sigmoid-output model; this one is {activation}')
      terms.append((weight, name))
    return cls(tuple(terms), activation)

  @property
  def model_terms(self) -> set[str]:
    return {n for _, n in self.terms if n not in RECONSTRUCTION}

  def check_model_terms(self, sown: set[str]) -> None:
    missing = self.model_terms - set(sown)
    if missing:
      known = sorted(RECONSTRUCTION) + sorted(sown)
      raise LossError(f'unknown loss term(s) {", ".join(sorted(missing))}; this model offers '
                      f'{", ".join(known)} (and the alias elbo = bce_sum+kl)')

  def to_images(self, outputs):
    """Model outputs (pre-activation) -> images."""
    return contract.ACTIVATIONS[self.activation](outputs)

  def per_image(self, outputs, target, sown=None) -> dict[str, jax.Array]:
    """{name: [B] values} of every term, for model outputs (pre-activation) against the target."""
    images = self.to_images(outputs)
    model = sown_terms(sown)
    values = {}
    for _, name in self.terms:
      if name not in values:
        values[name] = (RECONSTRUCTION[name][0](outputs, images, target) if name in RECONSTRUCTION
                        else model[name]).astype(jnp.float32)
    return values

  def total(self, values: dict[str, jax.Array]) -> jax.Array:
    return sum(w * values[n] for w, n in self.terms)

  def __call__(self, outputs, target, sown=None) -> tuple[jax.Array, dict[str, jax.Array]]:
    """(total loss, {name: batch mean}) for model outputs (pre-activation) against the target."""
    values = {k: jnp.mean(v) for k, v in self.per_image(outputs, target, sown).items()}
    return self.total(values), values
