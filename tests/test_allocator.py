"""The malloc settings `vitocr` applies to its own process (ocr/allocator.py)."""
import os
import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
PROBE = "from ocr.allocator import keep_freed_memory; print(keep_freed_memory())"


def probe(**env):
    clean = {k: v for k, v in os.environ.items() if not (k.startswith("MALLOC_") or k == "GLIBC_TUNABLES")}
    return subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True,
                          check=True).stdout.strip()


@glibc
def test_settings_apply_on_glibc():
    assert probe() == "True"


@glibc
@pytest.mark.parametrize("env", [{"MALLOC_TRIM_THRESHOLD_": "131072"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}])
def test_a_users_own_malloc_settings_win(env):
    assert probe(**env) == "False"
