"""The super-resolution data of Krzak et al. 2022: cats-vs-dogs photos resized to 360x360 (PIL
bilinear), 80/20 train/validation split; the inputs are bilinear reductions of the target."""
DATA = {'data.train': 'tfds:cats_vs_dogs', 'data.eval': 'tfds:cats_vs_dogs',
        'data.train_split': 'train', 'data.eval_split': 'test', 'data.test_fraction': 0.2,
        'data.val_fraction': 0.0, 'data.image_size': (360, 360), 'data.channels': 3,
        'data.fit': 'resize', 'data.resize_method': 'bilinear', 'data.num_eval': 500,
        'learning_rate': 1e-4, 'batch_size': 5, 'eval.batch_size': 8, 'eval.grid_images': 3}
