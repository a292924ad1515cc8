"""What makes a CPU fast: convolutions as matrix products (`kernels`), huge pages for malloc
(`hostenv`), and one machine's cores as several pinned processes of one run (`launch`). Which of
these a run uses is decided in `aedenoise/policy.py` and by main.py's flags."""
