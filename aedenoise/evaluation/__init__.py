"""Scoring: crops during and after training (evaluate), whole images through tiles
(evaluate_whole), a workdir's checkpoint (evaluate_checkpoint), whole test sets under the
benchmark convention (testsets, benchmark), classic baselines, folders of image pairs (scoring),
and the tables and curves they write (reporting, benchmark_report)."""
