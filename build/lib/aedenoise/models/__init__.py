"""Model registry: a plain dict from name to a module constructor; `config.model_kwargs` are its
keyword arguments (`MODELS[config.model](**config.model_kwargs)`).

Every model keeps the contract of `aedenoise/models/contract.py`. A new family is a model file, a
config and one line here.
"""
import functools

from aedenoise.models import cifar_autoencoders as cifar
from aedenoise.models import image_quality as iq
from aedenoise.models.dncnn import DnCNN
from aedenoise.models.dual_autoencoders import DualAutoEncoder
from aedenoise.models.mnist_dae import MnistDenoisingAutoEncoder
from aedenoise.models.sidd_linear import SiddLinearAutoEncoder
from aedenoise.models.unet import UNet

MODELS = {
    # Khandelwal & Sharma 2023, dual autoencoders (100x100 gray faces).
    'single': functools.partial(DualAutoEncoder),
    'single_sep': functools.partial(DualAutoEncoder, separable=True),
    'dual': functools.partial(DualAutoEncoder, dual=True),
    'dual_sep': functools.partial(DualAutoEncoder, dual=True, separable=True),
    'dual_skip': functools.partial(DualAutoEncoder, dual=True, skips=True),
    'dual_skip_sep': functools.partial(DualAutoEncoder, dual=True, skips=True, separable=True),
    # Psychalas 2024, CIFAR-10 autoencoders (32x32x3); Model-B as printed and as trained.
    'cifar_model_a': functools.partial(cifar.CifarAutoEncoder, plan=cifar.MODEL_A,
                                       batch_norm=False),
    'cifar_model_b': functools.partial(cifar.CifarAutoEncoder, plan=cifar.MODEL_B),
    'cifar_model_b_small': functools.partial(cifar.CifarAutoEncoder, plan=cifar.MODEL_B_SMALL),
    'cifar_model_c': functools.partial(cifar.CifarAutoEncoder, plan=cifar.MODEL_C),
    # Krzak et al. 2022, image quality: CIFAR-10 denoisers and super-resolution nets (x2, x4).
    'cifar_pool_ae': iq.PoolingAutoEncoder,
    'cifar_vae': iq.VariationalAutoEncoder,
    'sr_deconv': iq.DeconvSuperResolution,
    'sr_resnet': iq.ResNetSuperResolution,
    # Khan et al. 2021, linear conv autoencoder for real (SIDD) noise (256x256x3).
    'sidd_linear_ae': SiddLinearAutoEncoder,
    # Lalaj, MNIST denoising autoencoders: model_kwargs depth {1, 3, 5} x latent {13, 8, 5}.
    'mnist_dae': MnistDenoisingAutoEncoder,
    # Beyond the studies: residual denoisers for photos (model_kwargs: depth, width, ...).
    'dncnn': DnCNN,
    'unet': UNet,
}
