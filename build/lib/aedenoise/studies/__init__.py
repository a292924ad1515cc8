"""The studies this project reproduces, by what they do or by their authors: a plain dict from name
to the study's definition, one module each (aedenoise/studies/definition.py says what a study is).
A new study is one module and one line here; `python -m aedenoise.study NAME` runs it."""
from aedenoise.studies import (cifar_autoencoders, dual_autoencoders, image_quality, mnist_grid,
                               sidd_linear_ae)

STUDIES = {
    'dual_autoencoders': dual_autoencoders.STUDY,
    'sidd_linear_ae': sidd_linear_ae.STUDY,
    'mnist_grid': mnist_grid.STUDY,
    'cifar_autoencoders': cifar_autoencoders.STUDY,
    'image_quality': image_quality.STUDY,
}
