"""ops/heap_tuning.py: a worker's repeated large allocations stop faulting memory in again."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from midway.settings import PROJECT_ROOT

pytestmark = pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallopt"), reason="needs glibc's mallopt")

# Allocate, fill and free a 64 MiB block (an activation-sized one) several times; count page faults.
ALLOCATE_FIVE_TIMES = """
import resource, sys
from ops.heap_tuning import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "tuned" else None
block = bytearray(64 << 20); del block  # the first one may fault in either case
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    block = bytearray(64 << 20)
    del block
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""
PAGES_PER_BLOCK = (64 << 20) // 4096


def faults(mode: str) -> tuple[str, int]:
    output = subprocess.run([sys.executable, "-c", ALLOCATE_FIVE_TIMES, mode], cwd=PROJECT_ROOT, check=True,
                            capture_output=True, text=True).stdout.split()
    return output[0], int(output[1])


def test_a_tuned_process_reuses_freed_blocks_without_page_faults() -> None:
    applied, tuned_faults = faults("tuned")
    _, default_faults = faults("default")
    assert applied == "True"
    # glibc's default maps each 64 MiB block afresh and faults in every page of it, each time.
    assert default_faults >= 4 * PAGES_PER_BLOCK
    assert tuned_faults < PAGES_PER_BLOCK // 10
