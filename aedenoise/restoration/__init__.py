"""A trained model applied to images: loaded from a workdir (inference), NumPy images in and out
(pixels, channels), any size through tiles (tiling); the folder-to-folder modes (restore,
degrade_files, outputs); and the model as a file to share (export, package)."""
