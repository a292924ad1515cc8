r"""This project's dual_skip training step against the same model in the stacks users would
otherwise pick, run alternately in one sitting so that every figure comes from the same machine
state. Prints a Markdown table of images/s (median over rounds) and each one's ratio to this
project's (one process). Peers that are not installed are listed as skipped. On Linux machines
with several cores the project also runs as one pinned process per core, as
`main.py --cpu_processes=N` trains.

  python benchmarks/peers/compare.py [--rounds=3] [--batch_size=128]
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROJECT = 'aedenoise (benchmarks/train_throughput.py)'


def candidates(batch: int) -> dict[str, tuple[list[str], str | None]]:
  """{name: (command, module it needs)}."""
  py = sys.executable
  keras = [py, os.path.join(HERE, 'keras_dual_skip.py'), f'--batch_size={batch}']
  torch = [py, os.path.join(HERE, 'torch_dual_skip.py'), f'--batch_size={batch}']
  ours = [py, os.path.join(ROOT, 'benchmarks', 'train_throughput.py'),
          '--config=configs/dual_skip.py', f'--batch_size={batch}']
  cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else 1
  per_core = {}
  if cores > 1 and batch % cores == 0:
    per_core = {f'aedenoise, {cores} processes of one core (--cpu_processes={cores})':
                (ours + [f'--processes={cores}'], None)}
  return {
      PROJECT: (ours, None),
      **per_core,
      'Keras 3 on TensorFlow (oneDNN)': (keras, 'tensorflow'),
      'Keras 3 on TensorFlow, jit_compile (XLA)': (keras + ['--jit_compile'], 'tensorflow'),
      'PyTorch eager, NCHW': (torch, 'torch'),
      'PyTorch eager, channels_last': (torch + ['--channels_last'], 'torch'),
      'PyTorch eager, channels_last, bf16 autocast': (torch + ['--channels_last', '--bf16'],
                                                      'torch'),
  }


def run_once(command: list[str]) -> float | str:
  result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
  lines = [l for l in result.stdout.splitlines() if l.startswith('{')]
  if result.returncode or not lines:
    return f'failed: {(result.stderr.strip().splitlines() or ["?"])[-1][:120]}'
  return float(json.loads(lines[-1])['images_per_sec'])


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--batch_size', type=int, default=128)
  args = parser.parse_args()
  runs = {}
  for name, (command, needs) in candidates(args.batch_size).items():
    if needs and importlib.util.find_spec(needs) is None:
      runs[name] = f'skipped: {needs} not installed'
    else:
      runs[name] = []
  for r in range(args.rounds):  # alternate, so drifts in machine state hit every entry alike
    for name, (command, _) in candidates(args.batch_size).items():
      if isinstance(runs[name], list):
        result = run_once(command)
        runs[name] = result if isinstance(result, str) else runs[name] + [result]
        print(f'round {r + 1}: {name}: {result}', file=sys.stderr, flush=True)
  ours = statistics.median(runs[PROJECT]) if isinstance(runs[PROJECT], list) else None
  print(f'| implementation (dual_skip, batch {args.batch_size}, 100x100x1) | img/s | '
        f'min-max | vs this project |')
  print('|---|---:|---:|---:|')
  for name, values in runs.items():
    if isinstance(values, str):
      print(f'| {name} | {values} | | |')
      continue
    median = statistics.median(values)
    ratio = f'{median / ours:.2f}x' if ours else ''
    print(f'| {name} | {median:.1f} | {min(values):.1f}-{max(values):.1f} | {ratio} |')


if __name__ == '__main__':
  main()
