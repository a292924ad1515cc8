"""How a degradation function declares parameters that are not plain numbers.

Most parameters are numbers that a spec may give as a (lo, hi) range, sampled per image on the device.
Some cannot be: a kernel window or a downsampling factor sets array shapes, and a method name picks a
code path, so they must be fixed when the function is traced. `declare` records those, the allowed
values of string parameters, and a check on the raw spec values (so that `build` fails early, with a
message naming the parameter, instead of inside a trace).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Sequence

Check = Callable[[Mapping[str, Any]], Iterable[str]]


def declare(*, static: Sequence[str] = (), choices: Mapping[str, Sequence[Any]] | None = None,
            check: Check | None = None):
  """Decorator: `static` names must be fixed values; `choices` lists allowed values per name;
  `check(raw_params)` yields one message per problem (raw values: numbers, pairs, strings)."""
  def wrap(fn):
    fn.static_params = tuple(static) + tuple(choices or ())
    fn.choices = dict(choices or {})
    fn.check = check
    return fn
  return wrap


def upper(value):
  """The largest value a parameter can take: hi of a range, else the value itself."""
  return max(value) if isinstance(value, (tuple, list)) else value


def lower(value):
  return min(value) if isinstance(value, (tuple, list)) else value


def odd_window(size) -> list[str]:
  if not isinstance(size, int) or isinstance(size, bool) or size < 1 or size % 2 == 0:
    return [f'size must be an odd positive integer (the kernel window), got {size!r}']
  return []


def in_unit_interval(params: Mapping[str, Any], *names: str) -> list[str]:
  out = []
  for name in names:
    value = params.get(name)
    if isinstance(value, (int, float, tuple, list)) and not isinstance(value, bool):
      if lower(value) < 0 or upper(value) > 1:
        out.append(f'{name} must lie in [0, 1], got {value!r}')
  return out


def non_negative(params: Mapping[str, Any], *names: str) -> list[str]:
  out = []
  for name in names:
    value = params.get(name)
    if isinstance(value, (int, float, tuple, list)) and not isinstance(value, bool):
      if lower(value) < 0:
        out.append(f'{name} must be >= 0, got {value!r}')
  return out


def positive(params: Mapping[str, Any], *names: str) -> list[str]:
  out = []
  for name in names:
    value = params.get(name)
    if isinstance(value, (int, float, tuple, list)) and not isinstance(value, bool):
      if lower(value) <= 0:
        out.append(f'{name} must be > 0, got {value!r}')
  return out
