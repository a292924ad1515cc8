"""A paper's claims as checks over its study's records, so that a reading can quote a table that
decides it rather than restate numbers by hand.

A claim is its wording (as the paper puts it) and a decision over the study's records
(`aedenoise/studies/report.py`: one value per model, row and metric, averaged over seeds):
`holds` is True or False, or None when the records cannot decide (a run not finished, a row the
budget does not score), and `evidence` names every number the decision rests on. Each study module
lists its claims with the helpers below; the runner writes them to `W/claims.json` and as the
Claims table of `study.md`.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

Key = tuple[str, str, str]  # (model, row, metric)
Decision = tuple[bool | None, dict[str, float | None]]


class Values:
  """The records' values by (model, row, metric); each lookup is kept as evidence."""

  def __init__(self, rows: list[dict]):
    self._values = {(r['model'], r['row'], r['metric']): r['value'] for r in rows}
    self.used: dict[str, float | None] = {}

  def __call__(self, key: Key) -> float | None:
    value = self._values.get(key)
    self.used[' | '.join(key)] = None if value is None else round(float(value), 4)
    return value


@dataclasses.dataclass(frozen=True)
class Claim:
  text: str
  decide: Callable[[Values], bool | None]

  def evaluate(self, rows: list[dict]) -> Decision:
    values = Values(rows)
    return self.decide(values), values.used


def all_of(results: Sequence[bool | None]) -> bool | None:
  """False if any part fails, None if none fails but some cannot be decided, else True."""
  if any(r is False for r in results):
    return False
  return None if any(r is None for r in results) else True


def _greater(values: Values, a: Key, b: Key) -> bool | None:
  x, y = values(a), values(b)
  return None if x is None or y is None else x > y


def above(text: str, pairs: Sequence[tuple[Key, Key]]) -> Claim:
  """Each first key's value is above its second's."""
  return Claim(text, lambda v: all_of([_greater(v, a, b) for a, b in pairs]))


def best(text: str, model: str, rivals: Sequence[str], rows: Sequence[str], metric: str) -> Claim:
  """`model` has the highest `metric` of all `rivals` on every one of `rows`."""
  return above(text, [((model, row, metric), (rival, row, metric))
                      for row in rows for rival in rivals if rival != model])


def rising(text: str, keys: Sequence[Key], strict: Sequence[bool] | None = None) -> Claim:
  """Values rise along `keys` (each step strictly where `strict` says so, else at least equal)."""
  strict = strict or [True] * (len(keys) - 1)

  def decide(values: Values) -> bool | None:
    got = [values(k) for k in keys]
    if any(g is None for g in got):
      return None
    return all((b > a) if s else (b >= a) for a, b, s in zip(got, got[1:], strict))
  return Claim(text, decide)


def mean_above(text: str, a: Sequence[Key], b: Sequence[Key]) -> Claim:
  """The mean of `a`'s values is above the mean of `b`'s."""
  def decide(values: Values) -> bool | None:
    x, y = [values(k) for k in a], [values(k) for k in b]
    if any(v is None for v in x + y):
      return None
    return sum(x) / len(x) > sum(y) / len(y)
  return Claim(text, decide)


def evaluate(study_name: str, claims: Sequence[Claim], rows: list[dict]) -> list[dict]:
  """{'study', 'claim', 'holds', 'evidence'} per claim, decided on the report's records."""
  out = []
  for claim in claims:
    holds, evidence = claim.evaluate(rows)
    out.append({'study': study_name, 'claim': claim.text, 'holds': holds, 'evidence': evidence})
  return out


def markdown(decided: list[dict]) -> str:
  """The Claims table of study.md."""
  if not decided:
    return ''
  words = {True: 'holds', False: 'does not hold', None: 'cannot be decided'}
  lines = ['## Claims', '', '| claim | here | evidence (model / row / metric: value) |',
           '|---|---|---|']
  for c in decided:
    evidence = '; '.join(f'{k.replace("|", "/")}: {"-" if v is None else f"{v:g}"}'
                         for k, v in c['evidence'].items())
    lines.append(f"| {c['claim']} | {words[c['holds']]} | {evidence} |")
  return '\n'.join(lines) + '\n'
