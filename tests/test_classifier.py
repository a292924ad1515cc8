"""The CIFAR-10 study's classifier check: its F1 scores and its training."""
import numpy as np
import pytest

from aedenoise.studies import classifier


def test_macro_f1_counts_every_class_present():
  labels = np.array([0, 0, 1, 1, 2, 2])
  predicted = np.array([0, 1, 1, 1, 2, 0])
  # class 0: tp 1, 2 predicted, 2 true -> 0.5; class 1: tp 2, 3 predicted -> 0.8; class 2: 2/3
  assert classifier.macro_f1(predicted, labels) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
  assert classifier.macro_f1(labels, labels) == 1.0
  # a class only predicted (never true) counts as 0, as scikit-learn's average='macro' does
  assert classifier.macro_f1(np.array([0, 3]), np.array([0, 0])) == pytest.approx((2 / 3 + 0) / 2)


def test_macro_f1_in_batches_is_the_mean_over_batches_of_four():
  labels = np.array([0, 1, 2, 3, 0, 0, 1, 1])
  predicted = np.array([0, 1, 2, 3, 1, 1, 0, 0])
  assert classifier.macro_f1_in_batches(predicted, labels) == pytest.approx(0.5)
  assert classifier.macro_f1(predicted, labels) == pytest.approx(
      np.mean([1 / 3, 1 / 3, 1, 1]))


def test_the_classifier_learns_and_is_loaded_not_retrained(tmp_path):
  rng = np.random.default_rng(0)
  labels = np.repeat(np.arange(2), 64).astype(np.int32)
  # class 0 dark, class 1 bright: learnable in a few steps
  images = (rng.integers(0, 100, (128, 32, 32, 3)) + 120 * labels[:, None, None, None]
            ).astype(np.uint8)
  calls = []

  def data():
    calls.append(1)
    return images, labels

  variables = classifier.load_or_train(str(tmp_path), 30, data, batch=32)
  accuracy = np.mean(classifier.predict(variables, images) == labels)
  assert accuracy > 0.9
  again = classifier.load_or_train(str(tmp_path), 30, data, batch=32)
  assert len(calls) == 1  # the second call read the saved classifier
  assert np.array_equal(classifier.predict(again, images), classifier.predict(variables, images))
