"""What the photo denoisers (DnCNN, U-Net) share: DnCNN's training data and noise, the benchmark
convention, and the variants that pick grey or colour, a fixed sigma or blind training, and the
training method.

Grey: Train400 (400 grey 180x180 images), random 40x40 patches, 128 per image and epoch, as DnCNN
trains; 5% held out for monitoring. Colour: the cats-vs-dogs photos' training split (never a test
set). Noise: x + (sigma / 255) N(0, 1), unclipped (DnCNN/KAIR): sigma 25, or blind with sigma
drawn per image in [0, 55] (DnCNN-B). Scores on standard test sets: python -m aedenoise.benchmark.
"""
import os

from aedenoise.configs import default

DATA = os.path.join('..', 'shared', 'data')
BLIND = {'kind': 'gaussian', 'sigma': (0.0, 55 / 255), 'clip': False}


def fixed(sigma: float) -> dict:
  return {'kind': 'gaussian', 'sigma': sigma / 255, 'clip': False}


GREY = {'data.train': f'folder:{os.path.join(DATA, "train400")}', 'data.channels': 1,
        'data.eval': f'folder:{os.path.join(DATA, "train400")}'}
COLOUR = {'data.train': f'folder:{os.path.join(DATA, "cats_vs_dogs")}', 'data.channels': 3,
          'data.eval': f'folder:{os.path.join(DATA, "cats_vs_dogs")}', 'data.stratify': True}
RECIPE = {'loss': 'mse', 'learning_rate': 1e-3, 'lr_schedule': 'cosine', 'warmup_steps': 200,
          'batch_size': 64, 'num_train_steps': 30_000, 'log_every_steps': 200,
          'checkpoint_every_steps': 1_000, 'eval_every_steps': 2_000, 'ema_decay': 0.999,
          'data.image_size': (40, 40), 'data.patches_per_image': 128,
          'data.train_split': 'train', 'data.eval_split': 'val',
          'data.test_fraction': 0.0, 'data.val_fraction': 0.05,
          'data.eval_image_size': (128, 128), 'data.num_eval': 20,
          'eval.batch_size': 20, 'eval.grid_images': 2, 'eval.quantize': True}
QUICK = {'num_train_steps': 300, 'batch_size': 16, 'log_every_steps': 25, 'warmup_steps': 20,
         'checkpoint_every_steps': 100, 'eval_every_steps': 0, 'data.num_eval': 8,
         'data.train': 'builtin:dead_leaves', 'data.eval': 'builtin:skimage',
         'data.train_split': 'all', 'data.eval_split': 'all', 'data.patches_per_image': 1}


# The variants `variant` takes, as the message naming an unknown one lists them.
VARIANTS = ('grey', 'colour', 'sigma=S', 'blind', 'method=NAME')


def variant(arg) -> tuple[dict, list]:
  """This recipe's fields for the variants it knows in the config argument (default.parse_variants),
  and the variants left for default.py.

  grey (default) or colour; sigma=S (default 25) or blind; method=supervised (default),
  noise2noise or neighbor2neighbor."""
  fields = {**RECIPE, **GREY, 'degradation': fixed(25)}
  rest = []
  for name, value in default.parse_variants(arg):
    if name == 'grey' and value is None:
      fields.update(GREY)
    elif name in ('colour', 'color') and value is None:
      fields.update(COLOUR)
    elif name == 'blind' and value is None:
      fields['degradation'] = BLIND
    elif name == 'sigma' and value:
      fields['degradation'] = fixed(float(value))
    elif name == 'method' and value:
      fields['method'] = value
    else:
      rest.append((name, value))
  return fields, rest
