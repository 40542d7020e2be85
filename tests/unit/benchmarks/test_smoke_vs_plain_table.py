"""The benchmark's table must print on a 1-GPU host, where all-reduce busbw does not exist (issue 13)."""

import importlib.util
import os

import pytest

pytest.importorskip("torch", reason="the benchmark imports torch: pip install torch==2.13.0 (CPU build)")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
spec = importlib.util.spec_from_file_location("smoke_vs_plain", os.path.join(ROOT, "benchmarks", "smoke_vs_plain.py"))
smoke_vs_plain = importlib.util.module_from_spec(spec)
spec.loader.exec_module(smoke_vs_plain)


def test_one_rank_busbw_prints_as_not_applicable():
    text = smoke_vs_plain.table([("all-reduce 256 MiB", "busbw_gbps", None, None)])
    row = text.splitlines()[1].split()
    assert row[-3:] == ["n/a", "n/a", "n/a"]


def test_figures_print_with_their_ratio():
    text = smoke_vs_plain.table([("GPU 0 NVIDIA H100", "bf16_tflops", 780.5, 790.0)])
    assert text.splitlines()[1].split()[-3:] == ["780.5", "790.0", "98.8%"]
