"""Errors that mean "the user asked for something that cannot work": main.py prints them as one
line and exits non-zero, without a traceback."""


class UserError(Exception):
  """Bad configuration, flags, inputs or workdir contents."""


class TrainingDiverged(UserError):
  """The loss became NaN or Inf; the last good checkpoint is kept."""


class Interrupted(UserError):
  """SIGINT or SIGTERM stopped a run (training after saving a checkpoint; evaluation or restore
  keeping what it finished); exits with 128 + the signal."""

  def __init__(self, message: str, signum: int):
    super().__init__(message)
    self.signum = int(signum)
    self.exit_code = 128 + int(signum)


def first_line(e: BaseException, limit: int = 200) -> str:
  """'TypeName: the first line of the message' (cut to `limit`), for one-line reports of errors
  raised deep inside a library."""
  lines = str(e).strip().splitlines()
  return f'{type(e).__name__}: {lines[0][:limit] if lines else ""}'
