"""Psychalas, "Exploring Convolutional Auto-encoders for Image Denoising" (2024): Model-B as
printed in the paper's Figure 5 (93,587 parameters, a 2x2 bottleneck, BatchNorm). The reported
Model-B numbers come from the smaller net the study trained: configs/cifar_model_b_small.py.

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

No run of this net is recorded; the recipe is the Model-B runs' (MSE, Adam 5e-3, batch 32) for
200 epochs of 20,000 images (125,000 steps):
    python main.py --config=configs/cifar_model_b.py --workdir=runs/cifar_model_b
The quick variant, and real images offline, as in configs/cifar_model_c.py:
    python main.py --config=configs/cifar_model_b.py:quick --workdir=runs/cifar_b_fig5_quick
"""
from aedenoise.configs import cifar_model_c, default

RECIPE = {**cifar_model_c.RECIPE, 'batch_size': 32, 'num_train_steps': 125_000}


def get_config(arg=None):
  return default.get_config(arg, model='cifar_model_b', recipe=RECIPE,
                            quick=default.quick_run(2000, 32, {'learning_rate': 3e-3}))
