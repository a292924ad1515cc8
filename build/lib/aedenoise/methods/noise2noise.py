"""Noise2Noise (Lehtinen et al., 2018) for synthetic degradations: the target is the same image
degraded again, independently of the input. For zero-mean noise and a mean-seeking loss (MSE) the
minimiser is the same as with clean targets, so no clean image enters the loss."""
import jax

from aedenoise.methods.base import Method, supervised_loss

_TARGET_SALT = 0x2A2A  # the target's degradation key, apart from the input's


def target(key, clean, degrade):
  return degrade(jax.random.fold_in(key, _TARGET_SALT), clean)


METHOD = Method(target=target, loss=supervised_loss)
