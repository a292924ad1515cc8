"""Errors that mean "the user asked for something that cannot work": main.py prints them as one
line and exits non-zero, without a traceback."""


class UserError(Exception):
  """Bad configuration, flags, inputs or workdir contents."""


class TrainingDiverged(UserError):
  """The loss became NaN or Inf; the last good checkpoint is kept."""
