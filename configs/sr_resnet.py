"""Krzak et al., "Image quality improvement with autoencoders" (DTU, 2022): the ResNet
super-resolution net, 90x90 -> 360x360 (x4; 299,463 parameters), its best model (28.26 dB against
27.25 dB for nearest-neighbour upscaling in its Table 1).

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

Cats-vs-dogs photos resized to 360x360, inputs reduced x4 bilinearly on the device; loss
MSE + 100 L1, Adam 1e-4 (weight decay 1e-5, not applied here), batch 5; the number of epochs
the study used is not recorded (its script's default is 5: 20,000 steps). Evaluation adds the
nearest, bilinear and bicubic upscalings of the same inputs as rows:
    python main.py --config=configs/sr_resnet.py --workdir=runs/sr_resnet
The quick variant trains the same net on 64x64 crops (16x16 inputs; it is fully convolutional):
    python main.py --config=configs/sr_resnet.py:quick --workdir=runs/sr_resnet_quick
On real photos offline:
    ... --config.data.train=folder:../shared/data/cats_vs_dogs \
        --config.data.eval=folder:../shared/data/cats_vs_dogs
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import cats_vs_dogs
from aedenoise.degradations import presets

RECIPE = {**cats_vs_dogs.DATA, 'degradation': presets.PRESETS['sr_x4'],
          'loss': 'mse+100*l1', 'num_train_steps': 20_000, 'checkpoint_every_steps': 1_000,
          'eval_every_steps': 0}


def get_config(arg=None):
  return default.get_config(arg, model='sr_resnet', recipe=RECIPE, quick=default.quick_run(
      900, 8, {'learning_rate': 1e-3, 'data.image_size': (64, 64), 'data.fit': 'crop',
               'data.num_eval': 48, 'eval.batch_size': 16}))
