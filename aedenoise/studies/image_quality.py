"""Krzak et al., "Image quality improvement with autoencoders" (DTU 02456, 2022): Table 1, the
super-resolution comparison on 360x360 cats-vs-dogs photos (nearest-neighbour upscaling, the
deconvolution net from 180x180, the ResNet from 90x90), with bilinear and bicubic upscaling beside
them; and its CIFAR-10 denoisers, for which the paper gives no numbers: the pooling autoencoder as
Model A (trained clean -> clean) and Model B (noisy -> clean), and the VAE, scored on its noises.

    python -m aedenoise.study image_quality --workdir=W [--budget=reduced] [--data_dir=D]

Data: `cats_vs_dogs/` (1,784 photos) split 80/20 by class with a fixed seed; every photo resized
to 360x360 (PIL bilinear, as the study); the inputs are bilinear reductions of it. The nets train on
crops (the deconvolution net on whole 360x360 photos) and are scored on the whole held-out photos.
The denoisers: `cifar10_test_jpeg/` split as the CIFAR-10 study splits it (8,000 / 2,000). The
paper's Table 1 has its column headers permuted (the values are PSNR, SSIM, MSE in that order).
Budgets: `smoke` a few steps; `reduced` (cost in docs/STUDIES.md) as `BUDGETS` says; `full` each
config's recipe.
"""
from __future__ import annotations


import jax
import jax.numpy as jnp
import numpy as np

from aedenoise import build, degradations, metrics
from aedenoise import input_pipeline
from aedenoise.configs import cifar_pool_ae, cifar_vae, sr_deconv, sr_resnet
from aedenoise.restoration import inference
from aedenoise.runtime import parallel
from aedenoise.studies import claims, definition
from aedenoise.studies.definition import Paper, Run

PHOTOS = '360x360 photos'
HELD_OUT = 'CIFAR-10 held-out'  # the denoisers' rows: '<HELD_OUT>, <noise>'
NEAREST, DECONV, RESNET = ('nearest (from 90x90)', 'deconvolution net (from 180x180)',
                           'ResNet (from 90x90)')
# Table 1, as its values read: PSNR (dB), SSIM, MSE.
PUBLISHED = {NEAREST: (27.25, 0.8717, 0.0024), DECONV: (26.19, 0.8863, 0.0030),
             RESNET: (28.26, 0.8959, 0.0020)}
# run -> (model column, config module, training degradation)
DENOISERS = {'pool_ae_a': ('pooling AE, Model A (clean -> clean)', cifar_pool_ae, 'identity'),
             'pool_ae_b': ('pooling AE, Model B (noisy -> clean)', cifar_pool_ae, 'quality_mix'),
             'vae': ('VAE', cifar_vae, 'quality_colour_additive')}
# run -> (model column, config module, factor)
SR_NETS = {'sr_deconv': (DECONV, sr_deconv, 2), 'sr_resnet': (RESNET, sr_resnet, 4)}
# budget -> {run: (steps, batch, crop side or 0 for whole 360x360 photos)}, scored images
BUDGETS = {
    'smoke': ({'pool_ae_a': (8, 32, 0), 'pool_ae_b': (8, 32, 0), 'vae': (8, 32, 0),
               'sr_deconv': (4, 2, 0), 'sr_resnet': (4, 4, 64)}, (64, 4)),
    'reduced': ({'pool_ae_a': (3_000, 32, 0), 'pool_ae_b': (3_000, 32, 0), 'vae': (2_000, 64, 0),
                 'sr_deconv': (3_000, 5, 0), 'sr_resnet': (2_000, 8, 64)}, (0, 0)),
    'full': ({}, (0, 0)),
}


class ImageQuality(definition.Study):
  name = 'image_quality'
  title = 'Krzak et al., "Image quality improvement with autoencoders" (DTU 02456, 2022)'
  paper = tuple(Paper(model, PHOTOS, metric, values[i])
                for model, values in PUBLISHED.items()
                for i, metric in enumerate(('psnr', 'ssim', 'mse')))
  metrics = ('psnr', 'ssim', 'mse')

  def runs(self, budget: str, data_dir: str) -> list[Run]:
    lengths, (cifar_limit, photo_limit) = BUDGETS[budget]
    jpeg = definition.dataset(data_dir, 'cifar10_test_jpeg', self.name)
    photos = definition.dataset(data_dir, 'cats_vs_dogs', self.name)
    runs = []
    for name, (label, module, degradation) in DENOISERS.items():
      config = module.get_config(f'degradation={degradation}')
      config.update_from_flattened_dict({
          'data.train': f'folder:{jpeg}', 'data.train_split': 'train',
          'data.eval': f'folder:{jpeg}', 'data.eval_split': 'test', 'data.stratify': True,
          'data.test_fraction': 0.2, 'data.val_fraction': 0.0, 'data.num_eval': cifar_limit})
      runs.append(Run(name, label, _length(config, lengths.get(name)), extra={'kind': 'denoiser'}))
    for name, (label, module, factor) in SR_NETS.items():
      config = module.get_config()
      config.update_from_flattened_dict({
          'data.train': f'folder:{photos}', 'data.eval': f'folder:{photos}',
          'data.stratify': True, 'data.num_eval': 16})  # the end of training's look
      crop = (lengths.get(name) or (0, 0, 0))[2]
      if crop:  # random crops of the photos; scored on whole 360x360 photos all the same
        config.update_from_flattened_dict({'data.image_size': (crop, crop), 'data.fit': 'crop',
                                           'data.eval_image_size': (360, 360)})
      runs.append(Run(name, label, _length(config, lengths.get(name)),
                      extra={'kind': 'sr', 'factor': factor, 'limit': photo_limit}))
    return runs

  def claims(self) -> tuple[claims.Claim, ...]:
    noises = tuple(degradations.PRESETS['quality_mix']['options'])
    model_a, model_b = DENOISERS['pool_ae_a'][0], DENOISERS['pool_ae_b'][0]
    psnr = lambda model: (model, PHOTOS, 'psnr')
    return (
        claims.mean_above('Model A (trained clean -> clean) restores the noisy images better '
                          'than Model B (noisy -> clean): mean PSNR over the five noises',
                          [(model_a, f'{HELD_OUT}, {n}', 'psnr') for n in noises],
                          [(model_b, f'{HELD_OUT}, {n}', 'psnr') for n in noises]),
        claims.above('The ResNet upscales 4x better than nearest-neighbour interpolation (PSNR)',
                     [(psnr(RESNET), psnr(NEAREST))]),
        claims.above('(not in the paper) The ResNet upscales 4x better than bicubic '
                     'interpolation (PSNR)',
                     [(psnr(RESNET), psnr('bicubic (from 90x90)'))]),
        claims.above('(not in the paper) The deconvolution net upscales 2x better than bicubic '
                     'interpolation (PSNR)',
                     [(psnr(DECONV), psnr('bicubic (from 180x180)'))]),
    )

  def score(self, run: Run, workdir: str) -> list[dict]:
    if run.extra['kind'] == 'sr':
      return _score_super_resolution(run, workdir)
    # Every denoiser is scored on the study's noises, whatever it was trained on.
    config = definition.with_fields(run.config, {'degradation': degradations.PRESETS['quality_mix']})
    records, _ = definition.evaluate_on(config, workdir, config.data.eval, 'test',
                                        int(config.data.num_eval), name='cifar_held_out')
    rows = (definition.model_rows(records, build.model_label(config), run.model)
            + definition.input_rows(records))
    return [dict(r, row=f'{HELD_OUT}, {r["row"]}') for r in rows]

  def protocol(self, budget: str) -> str:
    lengths, _ = BUDGETS[budget]
    trained = '; '.join(f'{name} {steps:,} steps of batch {batch}'
                        + (f' on {crop}x{crop} crops' if crop else '')
                        for name, (steps, batch, crop) in lengths.items()) or 'each recipe'
    return (f'Budget `{budget}`: {trained} (the study: 5 epochs of 20,000 photos at batch 5 for '
            f'the super-resolution nets by default; its epochs are not recorded). Table 1 rows: '
            f'1,784 cats-vs-dogs photos (the study: 25,000), 80/20 split by class, scored on the '
            f'whole held-out photos resized to 360x360; `nearest`, `bilinear`, `bicubic`: '
            f'classic upscalings of the same inputs. PSNR and SSIM as aedenoise/metrics.py '
            f'computes them (8-bit quantised), MSE on [0, 1] of the quantised images, means over '
            f'images (the study: kornia\'s losses averaged per image; how its table was computed '
            f'from them is not recorded). Denoisers: scored on 2,000 held-out CIFAR-10 JPEG '
            f'images, each noise on every image with fixed keys; the paper reports no numbers '
            f'for them.')


def _length(config, length):
  if length:
    steps, batch, _ = length
    config.update_from_flattened_dict({
        'num_train_steps': steps, 'batch_size': batch, 'log_every_steps': max(steps // 40, 1),
        'checkpoint_every_steps': max(steps // 8, 1), 'eval_every_steps': 0})
  return config


def _score_super_resolution(run: Run, workdir: str) -> list[dict]:
  """Table 1's rows for one net: its restorations of the held-out photos, and the classic
  upscalings of the same inputs (nearest-neighbour for the ResNet's, the paper's baseline)."""
  config = definition.with_fields(run.config, {
      'data.image_size': (360, 360), 'data.fit': 'resize', 'data.eval_split': 'test',
      'data.eval_image_size': (), 'data.num_eval': run.extra['limit']})
  photos = input_pipeline.load_eval_set(config).targets
  task = build.task(config)
  loaded = inference.load_model(task, workdir, parallel.create_mesh())
  downsample = degradations.build(task.degradation)
  conv = metrics.Convention.from_config(config.eval)
  methods = {run.model: lambda x, shape: task.predict(loaded.variables, x),
             **{f'{up} (from {360 // run.extra["factor"]}x{360 // run.extra["factor"]})':
                (lambda x, shape, m=method: jax.image.resize(x, shape, m))
                for up, method in degradations.UPSCALING.items()}}

  def scores(targets_u8):
    target = targets_u8.astype(jnp.float32) / 255.0
    small = downsample(jax.random.key(0), target)
    out = {}
    for name, upscale in methods.items():
      restored = upscale(small, target.shape)
      psnr, ssim = metrics.psnr_ssim(restored, target, conv)
      error = metrics.prepare(restored, conv) - metrics.prepare(target, conv)
      out[name] = (psnr, ssim, jnp.mean(jnp.square(error), axis=(1, 2, 3)))
    return out

  scores = task.jit(scores)
  totals: dict[str, np.ndarray] = {}
  for start in range(0, len(photos), 4):
    for name, values in jax.device_get(scores(photos[start:start + 4])).items():
      totals[name] = totals.get(name, 0) + np.array([np.sum(v) for v in values])
  return [{'model': name, 'row': PHOTOS, 'metric': metric, 'value': float(total[i] / len(photos))}
          for name, total in totals.items()
          for i, metric in enumerate(('psnr', 'ssim', 'mse'))]


STUDY = ImageQuality()
