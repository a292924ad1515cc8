"""Run-time plumbing that knows nothing of models' arithmetic: files and URLs (paths), devices
and processes (parallel), workdirs, their lock, checkpoints and the upgrade of older ones, log
writers, library logs and progress lines."""
