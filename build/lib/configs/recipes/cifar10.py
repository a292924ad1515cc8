"""The CIFAR-10 data shared by the models of Psychalas 2024 and Krzak et al. 2022: 32x32 RGB images
in [0, 1] as torchvision's ToTensor gives them; TFDS downloads CIFAR-10 where the network allows
(offline: any folder of the images, see each config's docstring)."""
DATA = {'data.train': 'tfds:cifar10', 'data.eval': 'tfds:cifar10:test', 'data.image_size': (32, 32),
        'data.channels': 3, 'loss': 'mse', 'eval.batch_size': 256, 'eval.grid_images': 6}
