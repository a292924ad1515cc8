"""Degraded input -> clean target."""
from aedenoise.methods.base import Method, supervised_loss

METHOD = Method(target=lambda key, clean, degrade: clean, loss=supervised_loss)
