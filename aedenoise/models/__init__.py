"""Model registry: a plain dict from name to a module constructor (keyword arguments -> nn.Module).

Every model maps an NHWC image batch in [0, 1] to the pre-activation of its last layer and names the
activation in its `output_activation` field ('sigmoid' or 'linear'), so losses can use the
numerically stable form (BCE from logits) and predictions apply the activation.
"""
import functools

from aedenoise.models.seed000 import Seed000AutoEncoder

MODELS = {
    'single': functools.partial(Seed000AutoEncoder),
    'single_sep': functools.partial(Seed000AutoEncoder, separable=True),
    'dual': functools.partial(Seed000AutoEncoder, dual=True),
    'dual_sep': functools.partial(Seed000AutoEncoder, dual=True, separable=True),
    'dual_skip': functools.partial(Seed000AutoEncoder, dual=True, skips=True),
    'dual_skip_sep': functools.partial(Seed000AutoEncoder, dual=True, skips=True, separable=True),
}
