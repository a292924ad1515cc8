r"""dual_skip (91,488 parameters) trained by Keras 3 on TensorFlow: the dual-autoencoder study's own
stack, as a reference for benchmarks/train_throughput.py. Same layers, batch, BCE loss and Adam
(1e-3); random images plus Gaussian noise made once, outside the timed steps. Needs tensorflow
(requirements-tfds.txt). Prints one JSON line.

  python benchmarks/peers/keras_dual_skip.py --batch_size=128 [--jit_compile]
"""
import argparse
import json
import os
import time

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import keras  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position
from keras import layers  # pylint: disable=g-import-not-at-top,wrong-import-position


def dual_skip() -> keras.Model:
  """The notebook's dual autoencoder with skips: valid padding, ReLU, sigmoid output."""
  x = keras.Input((100, 100, 1))
  e1 = layers.Conv2D(50, 3, activation='relu')(x)
  e2 = layers.Conv2D(35, 3, strides=2, activation='relu')(e1)
  e3 = layers.Conv2D(25, 3, strides=2, activation='relu')(e2)
  h = layers.Conv2DTranspose(25, 3, strides=2, activation='relu')(e3)
  h = layers.Conv2DTranspose(25, 3, strides=2, activation='relu')(h)
  h = layers.Conv2DTranspose(1, 6, activation='relu')(h)
  h = layers.Conv2D(25, 3, activation='relu')(h)
  h = h + layers.Conv2D(25, 1, activation='relu')(e1)
  h = layers.Conv2D(25, 3, activation='relu')(h)
  h = h + layers.UpSampling2D(2)(layers.Conv2D(25, 1, activation='relu')(e2))
  h = layers.Conv2D(50, 3, strides=2, activation='relu')(h)
  s3 = layers.UpSampling2D(2)(layers.Conv2D(50, 1, activation='relu')(e3))
  h = h + layers.Conv2DTranspose(1, 2, activation='relu')(s3)  # one channel, broadcast over 50
  h = layers.Conv2DTranspose(50, 3, strides=2, activation='relu')(h)
  h = layers.Conv2DTranspose(25, 3, activation='relu')(h)
  return keras.Model(x, layers.Conv2DTranspose(1, 4, activation='sigmoid')(h))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--batch_size', type=int, default=128)
  parser.add_argument('--steps', type=int, default=5)
  parser.add_argument('--warmup', type=int, default=2)
  parser.add_argument('--jit_compile', action='store_true', help='XLA instead of oneDNN kernels')
  args = parser.parse_args()
  model = dual_skip()
  model.compile(optimizer=keras.optimizers.Adam(1e-3), loss='binary_crossentropy',
                jit_compile=args.jit_compile)
  rng = np.random.default_rng(0)
  clean = rng.random((args.batch_size, 100, 100, 1), dtype=np.float32)
  noisy = np.clip(clean + 0.1 * rng.standard_normal(clean.shape, dtype=np.float32), 0, 1)
  for _ in range(args.warmup + 1):  # the first call builds and compiles
    model.train_on_batch(noisy, clean)
  start = time.perf_counter()
  for _ in range(args.steps):
    loss = model.train_on_batch(noisy, clean)
  seconds = (time.perf_counter() - start) / args.steps
  print(json.dumps({'implementation': 'keras-tf' + ('-xla' if args.jit_compile else ''),
                    'parameters': model.count_params(), 'batch_size': args.batch_size,
                    'seconds_per_step': seconds, 'images_per_sec': args.batch_size / seconds,
                    'loss': float(np.asarray(loss).ravel()[0])}))


if __name__ == '__main__':
  main()
