"""Neighbor2Neighbor (Huang et al., CVPR 2021): self-supervised training from single noisy images.

Each 2x2 cell of a noisy image y gives two different pixels, picked at random: the sub-images
g1(y) and g2(y) at half resolution are two noisy views of nearly the same content, so f(g1(y))
is trained towards g2(y). A regulariser closes the gap that their half-pixel offset leaves:
  L = |f(g1(y)) - g2(y)|^2 + gamma |f(g1(y)) - g2(y) - (g1(f(y)) - g2(f(y)))|^2,
with f(y) computed on the whole image without gradient. Images need even sides.
"""
import jax
import jax.numpy as jnp

from aedenoise.methods.base import Method

GAMMA = 2.0  # the paper's weight of the regulariser for Gaussian noise
# The pairs of distinct positions within a 2x2 cell, (row, column) each.
_CELL = ((0, 0), (0, 1), (1, 0), (1, 1))
_PAIRS = tuple((a, b) for a in range(4) for b in range(4) if a != b)


def subsample(key, images):
  """(g1(images), g2(images)): per image and cell, two different pixels of the 2x2 cell."""
  b, h, w, c = images.shape
  cells = images[:, :h // 2 * 2, :w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2, c)
  cells = cells.transpose(0, 1, 3, 2, 4, 5).reshape(b, h // 2, w // 2, 4, c)
  choice = jax.random.randint(key, (b, h // 2, w // 2), 0, len(_PAIRS))
  first = jnp.asarray([p[0] for p in _PAIRS])[choice]
  second = jnp.asarray([p[1] for p in _PAIRS])[choice]
  take = lambda index: jnp.take_along_axis(cells, index[..., None, None], axis=3)[..., 0, :]
  return take(first), take(second)


def loss(apply, params, inputs, target, key, objective):
  del target  # the noisy image is its own target
  g1, g2 = subsample(key, inputs)
  outputs, model_state, sown = apply(params, g1)
  restored = objective.to_images(outputs)
  whole = jax.lax.stop_gradient(objective.to_images(apply(params, inputs)[0]))
  f1, f2 = subsample(key, whole)
  fidelity = jnp.mean(jnp.square(restored - g2))
  regulariser = jnp.mean(jnp.square(restored - g2 - (f1 - f2)))
  del sown
  terms = {'fidelity': fidelity, 'regulariser': regulariser}
  return fidelity + GAMMA * regulariser, (outputs, g2, model_state, terms)


METHOD = Method(target=lambda key, clean, degrade: clean, loss=loss)
