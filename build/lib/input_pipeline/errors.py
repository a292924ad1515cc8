"""What the input pipeline reports to a user: a source that cannot be opened, data that cannot
feed training. Both are one-line errors of the command line (aedenoise.errors.UserError)."""
from aedenoise.errors import UserError, first_line


class SourceError(UserError, ValueError):
  """A source spec or its data cannot be used; the message says which and why."""


class DataError(UserError, ValueError):
  """The data cannot feed training (too few usable images, nothing decodable)."""


__all__ = ['DataError', 'SourceError', 'first_line']
