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

from aedenoise.models.dual_autoencoders import DualAutoEncoder

MODELS = {
    # Khandelwal & Sharma 2023, dual autoencoders (100x100 gray faces).
    'single': functools.partial(DualAutoEncoder),
    'single_sep': functools.partial(DualAutoEncoder, separable=True),
    'dual': functools.partial(DualAutoEncoder, dual=True),
    'dual_sep': functools.partial(DualAutoEncoder, dual=True, separable=True),
    'dual_skip': functools.partial(DualAutoEncoder, dual=True, skips=True),
    'dual_skip_sep': functools.partial(DualAutoEncoder, dual=True, skips=True, separable=True),
}
