"""Psychalas, "Exploring Convolutional Auto-encoders for Image Denoising" (2024): Table 2, the
author's three trained checkpoints (Model-B 35.pt, Model-C 37.pt and 38.pt) scored on held-out
CIFAR-10 images with the study's noise mix, and its classifier check: macro-F1 of a classifier on
clean, noisy and denoised images. The four models trained here (A, B as printed, B as trained, C)
are further rows.

    python -m aedenoise.study cifar_autoencoders --workdir=W [--budget=reduced] [--data_dir=D]

Data: `cifar10_test_jpeg/` (CIFAR-10's 10,000 test images, lossy JPEG) split stratified by class,
8,000 for training the denoisers and the classifier, 2,000 held out for every score;
`cifar10_lossless/train/` (200 genuine training images) as a second, exact check. `--data_dir=tfds`
reads `tfds:cifar10` (train for training, test for scores) where TFDS can download it. The
checkpoints are read from `checkpoints/psychalas2024/` beside the data folder. Budgets: `smoke` 8
steps per model; `reduced` 3,000 steps of batch 64 (24 epochs of the 8,000 images; cost in
docs/STUDIES.md); `full` each config's own recipe (the study's runs 1, 35, 37, 38).
"""
from __future__ import annotations

import os

import jax
import numpy as np

from aedenoise import build, degradations
from aedenoise.configs import cifar_model_a, cifar_model_b, cifar_model_b_small, cifar_model_c
from aedenoise.restoration import inference
from aedenoise.runtime import parallel
from aedenoise.studies import claims, classifier, definition
from aedenoise.studies.definition import Paper, Run

MIX = 'noise mix'
HELD_OUT, LOSSLESS = 'held-out JPEG', 'lossless'
AUTHORS = (('author_35', 'Model-B (35.pt)', 'cifar_model_b_small', '35.pt', 24.96, 68.81),
           ('author_37', 'Model-C (37.pt)', 'cifar_model_c', '37.pt', 26.6, 80.99),
           ('author_38', 'Model-C (38.pt)', 'cifar_model_c', '38.pt', 26.95, 81.74))
TRAINED = (('model_a', 'Model-A', cifar_model_a, 1e-3), ('model_b', 'Model-B (Fig. 5)',
                                                          cifar_model_b, 3e-3),
           ('model_b_small', 'Model-B (as trained)', cifar_model_b_small, 5e-3),
           ('model_c', 'Model-C', cifar_model_c, 3e-3))
BUDGETS = {'smoke': (8, 32, 64, 20), 'reduced': (3_000, 64, 0, 3_000), 'full': (0, 0, 0, 6_000)}
CLEAN_F1 = 97.72


class CifarAutoencoders(definition.Study):
  name = 'cifar_autoencoders'
  title = ('Psychalas, "Exploring Convolutional Auto-encoders for Image Denoising" (2024): '
           'CIFAR-10')
  paper = tuple([Paper(m, f'{HELD_OUT}, {MIX}', 'psnr', psnr) for _, m, _, _, psnr, _ in AUTHORS]
                + [Paper(m, f'{HELD_OUT}, {MIX}', 'f1_batches', f1)
                   for _, m, _, _, _, f1 in AUTHORS]
                + [Paper('clean images', HELD_OUT, 'f1_batches', CLEAN_F1)])
  metrics = ('psnr', 'ssim', 'f1', 'f1_batches', 'accuracy')

  def runs(self, budget: str, data_dir: str) -> list[Run]:
    steps, batch, limit, _ = BUDGETS[budget]
    data = self._data(data_dir)
    weights = os.path.join(os.path.dirname(os.path.abspath(data_dir)), 'checkpoints',
                           'psychalas2024')
    extra = {'budget': budget, 'lossless': data.pop('lossless', '')}
    runs = []
    for name, label, model, file, _, _ in AUTHORS:
      config = self._config(cifar_model_c.get_config(model=model), data, 1, 32, limit)
      runs.append(Run(name, label, config, weights=os.path.join(weights, file), extra=extra))
    for name, label, module, lr in TRAINED:
      config = module.get_config()
      if budget != 'full':
        config.update_from_flattened_dict({'learning_rate': lr})
      runs.append(Run(name, label, self._config(config, data, steps, batch, limit), extra=extra))
    return runs

  def _data(self, data_dir: str) -> dict:
    if data_dir == 'tfds':
      return {'data.train': 'tfds:cifar10', 'data.train_split': 'all',
              'data.eval': 'tfds:cifar10:test', 'data.eval_split': 'all'}
    jpeg = definition.dataset(data_dir, 'cifar10_test_jpeg', self.name)
    return {'data.train': f'folder:{jpeg}', 'data.train_split': 'train',
            'data.eval': f'folder:{jpeg}', 'data.eval_split': 'test', 'data.stratify': True,
            'data.test_fraction': 0.2, 'data.val_fraction': 0.0,
            'lossless': os.path.join(data_dir, 'cifar10_lossless', 'train')}

  def _config(self, config, data: dict, steps: int, batch: int, limit: int):
    fields = dict(data)
    if steps:
      fields.update({'num_train_steps': steps, 'batch_size': batch,
                     'log_every_steps': max(steps // 40, 1),
                     'checkpoint_every_steps': max(steps // 8, 1),
                     'eval_every_steps': steps // 8 if steps > 100 else 0})
    fields.update({'data.num_eval': limit, 'eval.batch_size': 250})
    config.update_from_flattened_dict(fields)
    return config

  def claims(self) -> tuple[claims.Claim, ...]:
    authors = [model for _, model, *_ in AUTHORS]  # 35.pt, 37.pt, 38.pt
    row = f'{HELD_OUT}, {MIX}'
    return (
        claims.rising('The author\'s models improve in PSNR: 35.pt < 37.pt <= 38.pt',
                      [(m, row, 'psnr') for m in authors], strict=(True, False)),
        claims.rising('The author\'s models improve in the classifier\'s macro-F1 on their '
                      'restorations: 35.pt < 37.pt <= 38.pt',
                      [(m, row, 'f1_batches') for m in authors],
                      strict=(True, False)),
        claims.above('Model-B is above Model-A (PSNR)',
                     [(('Model-B (Fig. 5)', row, 'psnr'), ('Model-A', row, 'psnr'))]),
        claims.above('Restored images classify better than the noisy ones (macro-F1 per 4)',
                     [((m, row, 'f1_batches'), ('noisy input', row, 'f1_batches'))
                      for m in authors]),
    )

  def score(self, run: Run, workdir: str) -> list[dict]:
    config, label = run.config, build.model_label(run.config)
    out = []
    sets = [(HELD_OUT, config.data.eval, config.data.eval_split, int(config.data.num_eval))]
    if run.extra['lossless'] and os.path.isdir(run.extra['lossless']):
      sets.append((LOSSLESS, f'folder:{run.extra["lossless"]}', 'all', 0))
    for where, spec, split, limit in sets:
      records, _ = definition.evaluate_on(config, workdir, spec, split, limit,
                                          name=where.replace(' ', '_').replace('-', '_'))
      for rows in (definition.model_rows(records, label, run.model),
                   definition.input_rows(records)):
        out += [dict(r, row=f'{where}, {r["row"]}') for r in rows]
        for metric in ('psnr', 'ssim'):  # the study's validation mixes the four cases
          values = [r['value'] for r in rows if r['metric'] == metric]
          out.append({'model': rows[0]['model'], 'row': f'{where}, {MIX}', 'metric': metric,
                      'value': float(np.mean(values))})
    return out + self._classifier_scores(run, workdir)

  def _classifier_scores(self, run: Run, workdir: str) -> list[dict]:
    """F1 of the study's classifier check on the held-out images: clean, noisy (one case of the
    mix per image, fixed keys) and restored by this run's model."""
    config = run.config
    variables = classifier.load_or_train(
        os.path.join(os.path.dirname(workdir), 'classifier'), BUDGETS[run.extra['budget']][3],
        lambda: classifier.load_labelled(config.data.train, config.data.train_split, config.data))
    images, labels = classifier.load_labelled(config.data.eval, config.data.eval_split,
                                              config.data, int(config.data.num_eval))
    clean = images.astype(np.float32) / 255.0
    task = build.task(config)
    degrade = jax.jit(degradations.build(task.degradation))
    noisy = np.concatenate([np.asarray(degrade(degradations.named_key(0, f'f1/{i}'),
                                               clean[i:i + 500]))
                            for i in range(0, len(clean), 500)])
    loaded = inference.load_model(task, workdir, parallel.create_mesh())
    restore = task.jit(lambda x: task.predict(loaded.variables, x))
    restored = np.concatenate([np.asarray(restore(noisy[i:i + 500]))
                               for i in range(0, len(noisy), 500)])
    out = []
    for model, row, x in (('clean images', HELD_OUT, clean), ('noisy input', f'{HELD_OUT}, {MIX}',
                                                               noisy),
                          (run.model, f'{HELD_OUT}, {MIX}', restored)):
      predicted = classifier.predict(variables, x)
      out += [{'model': model, 'row': row, 'metric': 'f1',
               'value': 100 * classifier.macro_f1(predicted, labels)},
              {'model': model, 'row': row, 'metric': 'f1_batches',
               'value': 100 * classifier.macro_f1_in_batches(predicted, labels)}]
      if model == 'clean images':
        out.append({'model': model, 'row': row, 'metric': 'accuracy',
                    'value': 100 * float(np.mean(predicted == labels))})
    return out

  def summary(self, rows: list[dict]) -> str:
    """Table 2: PSNR and F1 per model beside the paper's, and each F1 as a share of the clean
    images' (the paper's own classifier is stronger, so shares compare, absolute F1 does not)."""
    value = {(r['model'], r['row'], r['metric']): r for r in rows}
    mixed, lossless = f'{HELD_OUT}, {MIX}', f'{LOSSLESS}, {MIX}'
    clean = value.get(('clean images', HELD_OUT, 'f1'), {}).get('value')
    fmt = lambda x, unit='': '' if x is None else f'{x:.2f}{unit}'
    lines = ['| images | PSNR paper | PSNR held-out | PSNR lossless | F1 per 4 paper | '
             'F1 per 4 here | F1 whole set here | share of clean F1: paper (per 4) | '
             'here (whole set) |',
             '|---|' + '---:|' * 8]
    models = (['clean images', 'noisy input'] + [m for _, m, *_ in AUTHORS]
              + [m for _, m, _, _ in TRAINED])
    for model in models:
      row = HELD_OUT if model == 'clean images' else mixed
      get = lambda metric, where=row: value.get((model, where, metric), {})
      paper_f1, f1 = get('f1_batches').get('paper'), get('f1').get('value')
      lines.append('| ' + ' | '.join([
          model, fmt(get('psnr').get('paper')), fmt(get('psnr').get('value')),
          fmt(get('psnr', lossless).get('value')), fmt(paper_f1),
          fmt(get('f1_batches').get('value')), fmt(f1),
          fmt(paper_f1 and 100 * paper_f1 / CLEAN_F1, ' %'),
          fmt(f1 and clean and 100 * f1 / clean, ' %')]) + ' |')
    accuracy = value.get(('clean images', HELD_OUT, 'accuracy'), {}).get('value')
    return '\n'.join(lines) + (f'\n\nThe classifier\'s accuracy on the clean held-out images: '
                               f'{accuracy:.2f} %.' if accuracy is not None else '')

  def protocol(self, budget: str) -> str:
    steps, batch, limit, classifier_steps = BUDGETS[budget]
    length = (f'{steps:,} steps of batch {batch} per trained model' if steps
              else 'each model\'s recipe from the study')
    return (f'Budget `{budget}`: {length}; the author\'s checkpoints imported as they are. Data: '
            f'CIFAR-10\'s test set as lossy JPEG (about 30.7 dB against the originals), split '
            f'stratified 8,000 / 2,000; scores on the {limit or 2000:,} held-out images with '
            f'fixed keys, each case of the noise mix on every image (`{MIX}`: their mean, the '
            f'study mixes the cases at random), and on 200 lossless training images (`lossless`). '
            f'The study: 10,000 lossless test images, PSNR per batch of the clean batch\'s maximum '
            f'(here per image, data range 1, 8-bit quantised: aedenoise/metrics.py). Classifier: '
            f'a CNN trained here for {classifier_steps:,} steps on the 8,000 clean training images '
            f'(the study: a ViT fine-tuned on CIFAR-10, not downloadable here); `f1`: macro-F1 '
            f'over the held-out set; `f1_batches`: the study\'s averaging of macro-F1 over '
            f'batches of 4; `accuracy`: the classifier on clean images. Learning rates of the '
            f'trained models at the reduced budget are the quick variants\' (Model-A 1e-3, '
            f'B 3e-3, B as trained 5e-3, C 3e-3).')


STUDY = CifarAutoencoders()
