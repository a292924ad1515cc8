"""aedenoise: image-restoration autoencoders in JAX/Flax. `python main.py --help` lists the modes
(the text is aedenoise/commands/app.py's USAGE); README.md says more."""
from aedenoise.cpu import hostenv, launch

if __name__ == '__main__':
  launch.take_assigned_cpus()  # in a process started by --cpu_processes; before JAX starts
  hostenv.use_huge_pages()  # may re-execute this process once, before anything heavy is imported

# pylint: disable=g-import-not-at-top,wrong-import-position
from aedenoise.commands import app

if __name__ == '__main__':
  app.start()
