"""A CIFAR-10 classifier trained here on clean images, to ask the CIFAR-10 study's question: do
denoised images keep what a classifier needs? (The study used a ViT fine-tuned on CIFAR-10, which
cannot be downloaded here; a weaker classifier changes the absolute F1, not the question.)

Scores: macro-F1 over a whole set, and the study's own averaging, macro-F1 within each batch of 4
images (over the classes present in that batch, as scikit-learn's `f1_score(average='macro')`
counts them), averaged over the batches.
"""
from __future__ import annotations

import json
import os

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging
from flax import serialization

from aedenoise.input_pipeline import images as image_io
from aedenoise.input_pipeline import sources
from aedenoise.models import contract
from aedenoise.runtime import paths

PARAMS_FILE, INFO_FILE = 'classifier.msgpack', 'classifier.json'


class SmallCnn(nn.Module):
  """Three blocks of two 3x3 convolutions with BatchNorm and ReLU, then max pooling (32, 64, 128
  channels), global average pooling and a linear layer: about 290,000 parameters."""
  classes: int = 10

  @nn.compact
  def __call__(self, x, train: bool = False):
    for features in (32, 64, 128):
      for _ in range(2):
        x = nn.Conv(features, (3, 3), padding='SAME', use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(x))
      x = nn.max_pool(x, (2, 2), (2, 2))
    return nn.Dense(self.classes)(x.mean(axis=(1, 2)))


def load_labelled(spec: str, split: str, data_cfg,
                  limit: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """uint8 images and integer labels of `split` of a source (`limit` of them evenly spaced over
  the split, so every class keeps its share; 0 = all): the dataset's labels, or for a folder of
  class subfolders (`<class>/<image>`) the subfolder's index in name order. Unreadable files are
  left out with their labels."""
  source = sources.open_source(spec, data_cfg, split)
  files = getattr(source, 'files', None)
  classes = sorted({f.split(os.sep)[0] for f in files}) if files is not None else []
  chosen = (np.linspace(0, len(source) - 1, limit).astype(int) if 0 < limit < len(source)
            else range(len(source)))
  images, labels = [], []
  for i in chosen:
    try:
      example = source[i]
    except image_io.ImageReadError:
      continue
    images.append(example['target'])
    labels.append(example['label'] if 'label' in example
                  else classes.index(files[i].split(os.sep)[0]))
  return np.stack(images), np.asarray(labels, np.int32)


def _augment(key, images):
  """Random horizontal flips and 32x32 crops of the image padded by 4 (reflect)."""
  k_flip, k_crop = jax.random.split(key)
  flip = jax.random.bernoulli(k_flip, 0.5, (images.shape[0], 1, 1, 1))
  images = jnp.where(flip, images[:, :, ::-1], images)
  padded = jnp.pad(images, ((0, 0), (4, 4), (4, 4), (0, 0)), mode='reflect')
  offsets = jax.random.randint(k_crop, (images.shape[0], 2), 0, 9)
  crop = lambda image, o: jax.lax.dynamic_slice(image, (o[0], o[1], 0), images.shape[1:])
  return jax.vmap(crop)(padded, offsets)


def load_or_train(workdir: str, steps: int, data, batch: int = 128, seed: int = 0) -> dict:
  """The classifier's variables: loaded when `workdir` holds one trained for `steps` steps, else
  trained on `data()` (uint8 images, labels) and saved there."""
  model = SmallCnn()
  info_path = paths.path(workdir) / INFO_FILE
  variables = model.init(jax.random.key(seed), jnp.zeros((1, 32, 32, 3)))
  if info_path.exists() and json.loads(info_path.read_text()).get('steps') == steps:
    return serialization.from_bytes(variables, (paths.path(workdir) / PARAMS_FILE).read_bytes())
  images, labels = data()
  tx = optax.adamw(optax.cosine_decay_schedule(2e-3, steps), weight_decay=5e-4)
  trained = contract.PARAMS  # the rest are BatchNorm's statistics, updated by train=True calls
  opt_state = tx.init(variables[trained])

  @jax.jit
  def step(variables, opt_state, key, x, y):
    x = _augment(key, x.astype(jnp.float32) / 255.0)

    def loss_of(params):
      logits, updates = model.apply({**variables, trained: params}, x, train=True,
                                    mutable=[c for c in variables if c != trained])
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), updates
    (loss, updates), grads = jax.value_and_grad(loss_of, has_aux=True)(variables[trained])
    change, opt_state = tx.update(grads, opt_state, variables[trained])
    params = optax.apply_updates(variables[trained], change)
    return {**variables, **updates, trained: params}, opt_state, loss

  rng = np.random.default_rng(seed)
  order = np.concatenate([rng.permutation(len(images)) for _ in range(steps * batch // len(images)
                                                                       + 1)])
  logging.info('training the classifier: %d steps of batch %d on %d images', steps, batch,
               len(images))
  for i in range(steps):
    rows = order[i * batch:(i + 1) * batch]
    variables, opt_state, loss = step(variables, opt_state, jax.random.key(i), images[rows],
                                      labels[rows])
    if (i + 1) % max(steps // 10, 1) == 0:  # a long silent stretch otherwise
      logging.info('classifier step %d/%d | loss %.3f', i + 1, steps, float(loss))
  paths.path(workdir).mkdir(parents=True, exist_ok=True)
  paths.write_bytes(paths.path(workdir) / PARAMS_FILE, serialization.to_bytes(variables))
  paths.write_text(info_path, json.dumps({'steps': steps, 'batch': batch, 'seed': seed}) + '\n')
  return variables


def predict(variables: dict, images: np.ndarray, batch: int = 500) -> np.ndarray:
  """Class indices of float images in [0, 1] (or uint8)."""
  model = SmallCnn()
  apply = jax.jit(lambda v, x: model.apply(v, x, train=False).argmax(-1))
  images = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images
  return np.concatenate([np.asarray(apply(variables, images[i:i + batch]))
                         for i in range(0, len(images), batch)])


def macro_f1(predicted: np.ndarray, labels: np.ndarray) -> float:
  """Mean over the classes present in `labels` or `predicted` of each class's F1 (a class never
  predicted correctly scores 0)."""
  scores = []
  for c in np.union1d(labels, predicted):
    tp = np.sum((predicted == c) & (labels == c))
    denominator = np.sum(predicted == c) + np.sum(labels == c)
    scores.append(2.0 * tp / denominator)
  return float(np.mean(scores))


def macro_f1_in_batches(predicted: np.ndarray, labels: np.ndarray, batch: int = 4) -> float:
  """The study's averaging: macro-F1 within each consecutive batch of `batch` images, averaged."""
  return float(np.mean([macro_f1(predicted[i:i + batch], labels[i:i + batch])
                        for i in range(0, len(labels), batch)]))
