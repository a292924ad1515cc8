"""aedenoise: image-restoration autoencoders in JAX/Flax.

    import aedenoise
    model = aedenoise.load('pretrained/unet_grey_blind')
    restored = model(image)          # a NumPy image, H x W or H x W x C, uint8 or float

`load`, `degrade` and `Denoiser` come from aedenoise/api.py when first used: importing a module of
the package (the launcher in main.py does, before it re-executes itself) must not pay for JAX.
"""
_API = ('load', 'degrade', 'Denoiser')


def __getattr__(name):
  if name in _API:
    from aedenoise import api  # pylint: disable=g-import-not-at-top
    return getattr(api, name)
  raise AttributeError(f'module aedenoise has no attribute {name!r}')
