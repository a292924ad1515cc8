"""The command lines: main.py and the `aedenoise` command (app), its modes (cli), and what every
command line shares (command: flag parsing, one-line errors, the compilation cache)."""
