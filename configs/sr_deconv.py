"""Krzak et al., "Image quality improvement with autoencoders" (DTU, 2022): the
transposed-convolution super-resolution net, 180x180 -> 360x360 (x2; 3,063 parameters). In the study it
scored 26.19 dB, below nearest-neighbour upscaling from 90x90 (27.25 dB; its Table 1).

Variants, combinable: `quick` (a short run on images that need no download),
`degradation=PRESET` (a named degradation of docs/DEGRADATIONS.md).

Cats-vs-dogs photos resized to 360x360, inputs reduced x2 bilinearly on the device; MSE, Adam 1e-4
(weight decay 1e-5, not applied here), batch 5, 5 epochs (20,000 steps). Evaluation adds the
nearest, bilinear and bicubic upscalings of the same inputs as rows:
    python main.py --config=configs/sr_deconv.py --workdir=runs/sr_deconv
The quick variant trains the same net on 96x96 crops (48x48 inputs; it is fully convolutional):
    python main.py --config=configs/sr_deconv.py:quick --workdir=runs/sr_deconv_quick
"""
from aedenoise.configs import default
from aedenoise.configs.recipes import cats_vs_dogs
from aedenoise.degradations import presets

RECIPE = {**cats_vs_dogs.DATA, 'degradation': presets.PRESETS['sr_x2'],
          'loss': 'mse', 'num_train_steps': 20_000, 'checkpoint_every_steps': 1_000,
          'eval_every_steps': 0}


def get_config(arg=None):
  return default.get_config(arg, model='sr_deconv', recipe=RECIPE, quick=default.quick_run(
      2000, 16, {'learning_rate': 3e-3, 'data.image_size': (96, 96), 'data.fit': 'crop',
                 'data.num_eval': 48, 'eval.batch_size': 16}))
