"""Khan et al., "Image Denoise with AutoEncoder" (North South University, CSE445, 2021): the linear
convolutional autoencoder on real camera noise (SIDD), its training and validation MSE on the
0-255 scale beside the study's 48.31 and 61.08, with PSNR and SSIM.

    python -m aedenoise.study sidd_linear_ae --workdir=W [--budget=reduced] [--data_dir=D]

Data: the 12 SIDD pairs of `sidd_samples/` (the study: 160 pairs of SIDD-Small), split 9 / 3 by
the config's seeded split. Training on random 32x32 crops (the model is fully convolutional and
linear, so the crop size changes only the cost), batch 4, Adam 1e-4, MSE, flips and rot90 as the
study's pipeline. Every split is scored under two protocols: the study's (each whole image resized
to 256x256, bilinear, as `cv2.resize`) and this project's (256x256 centre crops, no resampling).
Budgets: `smoke` 4 steps; `reduced` 2,000 steps (docs/STUDIES.md has its cost); `full` the
study's recipe on 256x256 crops for the 100 epochs of 200 steps after which it reports its losses
(20,000 steps).
"""
from __future__ import annotations

import math

from aedenoise import build
from aedenoise.configs import sidd_linear_ae as sidd_config
from aedenoise.studies import claims, definition
from aedenoise.studies.definition import Paper, Run


def psnr_of_mse(mse_255: float) -> float:
  """PSNR (dB) of a mean squared error on the 0-255 scale: the only PSNR the study's losses give
  (of the mean error over images, not a mean of per-image PSNRs)."""
  return 10.0 * math.log10(255.0 ** 2 / mse_255)


_LOSSES = (('train, resized 256x256', 48.31), ('validation, resized 256x256', 61.08))
PAPER = tuple(p for row, mse in _LOSSES for p in (
    Paper('sidd_linear_ae', row, 'mse_255', mse),
    Paper('sidd_linear_ae', row, 'psnr_of_mse', round(psnr_of_mse(mse), 2))))
# The study reports its losses after 100 epochs of 200 steps (its notebook sets 200 epochs).
BUDGET_STEPS = {'smoke': 4, 'reduced': 2_000, 'full': 20_000}
# (row name, short name for files, config fields of the protocol)
PROTOCOLS = (
    ('resized 256x256', 'resized', {'data.fit': 'resize', 'data.resize_method': 'bilinear'}),
    ('256x256 centre crops', 'crops', {'data.fit': 'crop'}),
)
SPLITS = (('train', 'train'), ('validation', 'test'))


class SiddLinearAutoencoder(definition.Study):
  name = 'sidd_linear_ae'
  title = 'Khan et al., "Image Denoise with AutoEncoder" (CSE445, 2021): real noise (SIDD)'
  paper = PAPER
  metrics = ('mse_255', 'psnr_of_mse', 'psnr', 'ssim')

  def runs(self, budget: str, data_dir: str) -> list[Run]:
    pairs = definition.dataset(data_dir, 'sidd_samples', self.name)
    steps = BUDGET_STEPS[budget]
    config = _base_config(budget)
    config.update_from_flattened_dict({
        'num_train_steps': steps, 'log_every_steps': max(steps // 50, 1),
        'checkpoint_every_steps': max(steps // 10, 1), 'eval_every_steps': 0,
        'data.train': f'pairs:{pairs}/noisy,{pairs}/gt', 'data.train_split': 'train',
        'data.eval': f'pairs:{pairs}/noisy,{pairs}/gt', 'data.eval_split': 'test',
        'data.test_fraction': 0.25, 'data.val_fraction': 0.0})
    return [Run('sidd_linear_ae', 'sidd_linear_ae', config)]

  def claims(self) -> tuple[claims.Claim, ...]:
    row = lambda split: f'{split}, {PROTOCOLS[0][0]}'
    return (
        claims.above('The model overfits: its validation error is above its training error '
                     '(MSE, 0-255 scale)', [(('sidd_linear_ae', row('validation'), 'mse_255'),
                                             ('sidd_linear_ae', row('train'), 'mse_255'))]),
        claims.above('The linear autoencoder denoises the held-out pairs (PSNR above the noisy '
                     'input\'s)', [(('sidd_linear_ae', row('validation'), 'psnr'),
                                   ('noisy input', row('validation'), 'psnr'))]),
    )

  def score(self, run: Run, workdir: str) -> list[dict]:
    out = []
    for protocol, short, fields in PROTOCOLS:
      config = definition.with_fields(run.config, fields)
      for row, split in SPLITS:
        records, _ = definition.evaluate_on(config, workdir, config.data.eval, split,
                                            name=f'{split}_{short}')
        for scores in (definition.model_rows(records, build.model_label(config), run.model),
                       definition.input_rows(records)):
          for s in scores:
            out.append(dict(s, row=f'{row}, {protocol}'))
        ours = next(r for r in records if r['method'] == build.model_label(config))
        mse = float(ours['loss']) * 255.0 ** 2
        out.append({'model': run.model, 'row': f'{row}, {protocol}', 'metric': 'mse_255',
                    'value': mse})
        out.append({'model': run.model, 'row': f'{row}, {protocol}', 'metric': 'psnr_of_mse',
                    'value': psnr_of_mse(mse)})
    return out

  def protocol(self, budget: str) -> str:
    side = _base_config(budget).data.image_size[0]
    return (f'Budget `{budget}`: {BUDGET_STEPS[budget]:,} steps of batch 4 on random {side}x{side} '
            f'crops of 9 SIDD sample pairs (the study: 100 epochs of 200 steps of batch 4 on '
            f'whole images resized to 256x256, 128 SIDD-Small pairs). Validation: the 3 held-out '
            f'pairs (the study: 32). '
            f'MSE on the 0-255 scale of the unrounded output, as the study computes it on '
            f'unnormalised images; `PSNR of mean MSE` is 10 log10(255^2 / MSE) of that mean '
            f'error (the study\'s 48.31 and 61.08 are 31.29 and 30.27 dB), to be compared with the '
            f'same figure here; `PSNR` is the mean of per-image PSNRs. PSNR and SSIM here round outputs to 8 bits '
            f'(aedenoise/metrics.py). `resized 256x256`: whole images resized as the study does; '
            f'`256x256 centre crops`: this project\'s protocol, without resampling.')


def _base_config(budget: str):
  """The study's recipe for `full`; the quick variant's 32x32 crops otherwise."""
  return sidd_config.get_config(None if budget == 'full' else 'quick')


STUDY = SiddLinearAutoencoder()
