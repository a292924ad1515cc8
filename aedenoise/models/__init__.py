"""Model registry: a plain dict from name to a module constructor (keyword arguments -> nn.Module).

The contract every model keeps, so that the trainer and the evaluator know nothing of families:

* `model(x, train=False)` maps a degraded NHWC batch in [0, 1] to the pre-activation of its last
  layer, at the target's size (a super-resolution net gets a smaller input than its target);
  `output_activation` ('sigmoid' or 'linear') names the activation, so losses can use the stable
  form (BCE from logits) and predictions apply it;
* `train=True` is passed while training: BatchNorm then uses and updates batch statistics (the
  `batch_stats` collection), dropout draws from the 'dropout' rng and sampling from 'sample';
  otherwise running statistics are used and sampling takes its mean;
* a model may add loss terms with `self.sow('losses', name, per_image_values)` (the VAE's 'kl'),
  which a config's loss can name (aedenoise/losses.py);
* `conv_impl` chooses how convolutions are computed (layers.py); the parameters do not depend on it.
"""
import functools

from aedenoise.models import cifar_autoencoders as cifar
from aedenoise.models import image_quality as iq
from aedenoise.models import mnist_dae
from aedenoise.models.sidd_linear import SiddLinearAutoEncoder
from aedenoise.models.dual_autoencoders import DualAutoEncoder

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
    'cifar_pool_ae': functools.partial(iq.PoolingAutoEncoder),
    'cifar_vae': functools.partial(iq.VariationalAutoEncoder),
    'sr_deconv': functools.partial(iq.DeconvSuperResolution),
    'sr_resnet': functools.partial(iq.ResNetSuperResolution),
    # Khan et al. 2021, linear conv autoencoder for real (SIDD) noise (256x256x3).
    'sidd_linear_ae': functools.partial(SiddLinearAutoEncoder),
    # Lalaj, MNIST denoising autoencoders, depth {1, 3, 5} x latent {13, 8, 5} (28x28x1).
    **{name: functools.partial(mnist_dae.MnistDenoisingAutoEncoder, **spec)
       for name, spec in mnist_dae.specs().items()},
}
