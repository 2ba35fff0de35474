"""Every benchmark script still imports: they run by hand, seldom, and one broke unnoticed when a function moved."""
import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
HELPERS = {"same_size_models.py"}  # imported by the scripts, not run


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("*.py")))
def test_benchmark_script_imports_and_says_how_to_run_it(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # they import each other by bare name
    spec = importlib.util.spec_from_file_location(f"benchmark_{Path(script).stem}", BENCHMARKS / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if script not in HELPERS:
        assert callable(module.main)
        assert f"python benchmarks/{script}" in module.__doc__
