"""Constructors of the models of the CIFAR-10 study (Psychalas 2024) and the image-quality study
(Krzak et al. 2022), for merging into `aedenoise.models.MODELS`.

Kept apart from `models/__init__.py` so the merge is one reviewed step. `STUDY_GEOMETRY` says what
each model was built for: the clean target's (H, W, C) and the input's downscale factor (1 for
denoisers; the super-resolution nets take target / scale and are fully convolutional, so quick
runs may use smaller crops with the same scale).
"""
import functools

from aedenoise.models import cifar_autoencoders as cifar
from aedenoise.models import image_quality as iq

STUDY_MODELS = {
    'cifar_model_a': functools.partial(cifar.CifarAutoEncoder, plan=cifar.MODEL_A,
                                       batch_norm=False),
    'cifar_model_b': functools.partial(cifar.CifarAutoEncoder, plan=cifar.MODEL_B),
    'cifar_model_b_small': functools.partial(cifar.CifarAutoEncoder, plan=cifar.MODEL_B_SMALL),
    'cifar_model_c': functools.partial(cifar.CifarAutoEncoder, plan=cifar.MODEL_C),
    'cifar_pool_ae': functools.partial(iq.PoolingAutoEncoder),
    'cifar_vae': functools.partial(iq.VariationalAutoEncoder),
    'sr_deconv': functools.partial(iq.DeconvSuperResolution),
    'sr_resnet': functools.partial(iq.ResNetSuperResolution),
}

_CIFAR = {'target': (32, 32, 3), 'scale': 1}
STUDY_GEOMETRY = {
    'cifar_model_a': _CIFAR,
    'cifar_model_b': _CIFAR,
    'cifar_model_b_small': _CIFAR,
    'cifar_model_c': _CIFAR,
    'cifar_pool_ae': _CIFAR,
    'cifar_vae': _CIFAR,
    'sr_deconv': {'target': (360, 360, 3), 'scale': 2},
    'sr_resnet': {'target': (360, 360, 3), 'scale': 4},
}
