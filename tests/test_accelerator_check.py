"""benchmarks/accelerator_check.py in its smallest form, through its shell wrapper, as a GPU box
would run it: the Markdown tables and the JSON report it writes."""
import importlib.util
import json
import math
import os
import subprocess
import sys

from conftest import ROOT

SCRIPT = os.path.join(ROOT, 'benchmarks', 'accelerator_check.py')


def _module():
  spec = importlib.util.spec_from_file_location('accelerator_check', SCRIPT)
  module = importlib.util.module_from_spec(spec)
  sys.modules[spec.name] = module  # its dataclasses look their module up there
  spec.loader.exec_module(module)
  return module


def test_peaks_of_known_devices_and_the_flag():
  check = _module()
  assert check.peaks('NVIDIA H200', '')[0] == {'bfloat16': 989.0, 'float32': 67.0}
  assert check.peaks('NVIDIA H100 PCIe', '')[0]['bfloat16'] == 756.0
  assert check.peaks('cpu', '')[0] == {}
  assert check.peaks('cpu', '2')[0] == {'float32': 2.0, 'bfloat16': 2.0}
  assert check.peaks('cpu', 'bfloat16=3,float32=1')[0] == {'bfloat16': 3.0, 'float32': 1.0}


def test_smallest_check_writes_its_tables_and_report(tmp_path):
  output = tmp_path / 'check.json'
  result = subprocess.run(
      ['bash', os.path.join(ROOT, 'benchmarks', 'accelerator_check.sh'), '--size=tiny',
       f'--output={output}', '--peak_tflops=bfloat16=2,float32=1'],
      capture_output=True, text=True, timeout=900, env={**os.environ, 'PYTHON': sys.executable})
  assert result.returncode == 0, result.stderr[-3000:]
  report = json.loads(output.read_text())
  assert report['size'] == 'tiny' and report['device']['backend'] == 'cpu'
  assert report['training']['rows'] and report['training']['steps'] == 4
  assert all(math.isfinite(r['restored_psnr']) for r in report['training']['rows'])
  assert report['eval']['images_per_sec'] > 0 and report['restore']['megapixels_per_sec'] > 0
  rows = report['throughput']
  assert [(r['model'], r['dtype']) for r in rows] == [('cifar_model_c', 'float32'),
                                                      ('cifar_model_c', 'bfloat16')]
  for r in rows:
    assert r['images_per_sec'] > 0 and r['compile_s'] > 0 and r['gflops_per_image'] > 0
    expected_peak = {'float32': 1.0, 'bfloat16': 2.0}[r['dtype']] * report['device']['devices']
    assert r['peak_tflops'] == expected_peak
    assert math.isclose(r['peak_fraction'], r['tflops'] / expected_peak)
  assert report['input_pipeline'][0]['images_per_sec'] > 0
  assert set(report['checks']) == {'loss_falls', 'restored_beats_noisy',
                                   'large_restore_beats_noisy', 'pipeline_keeps_up'}
  assert '| model | dtype | batch | compile (s) |' in result.stdout
  assert '| cifar_model_c | bfloat16 | 8 |' in result.stdout
