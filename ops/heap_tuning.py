"""Keep freed memory in an engine process's heap, so the next denoising step reuses it without page faults.

glibc's malloc serves every block over its mmap threshold (128 KiB, rising to at most 32 MiB as it
adapts) with a fresh mmap and hands it back with munmap on free. A diffusion step allocates and frees
its activations many times over, each time the same sizes, so every step faults the same memory in
again, page by page, with the kernel zeroing each page. Measured on the tiny engine (256², 8 steps,
4 images, one CPU thread): 180,000 minor faults and 0.39 s of system time in a 2.0 s call; with the
thresholds below, no faults and 1.5 s. The cost also varies with the host's memory state, which made
one worker process several percent slower than another running the same code.

Raising both thresholds keeps such blocks inside the heap after free, where the next allocation of the
same size finds them. The price is that the process keeps its high-water mark of memory: right for a
worker, whose every job climbs to about the same peak again, but not for loading a model, whose CPU
copies (gigabytes, freed once the weights are on the GPU) could stay stuck in the heap under a later
allocation. So processes call this once their engines are loaded.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

# glibc's mallopt parameter numbers (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap, and up to this much free memory stays there. 1 GiB
# covers a 1024² batch's CPU activations; larger blocks keep glibc's mmap path.
KEEP_BYTES = 1 << 30


def keep_freed_memory(limit_bytes: int = KEEP_BYTES) -> bool:
    """Raise glibc's mmap and trim thresholds to `limit_bytes` for the rest of this process.

    False where the C library has no mallopt (musl, macOS) or refuses the values."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        log.debug("no mallopt in this C library; malloc keeps its defaults")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # The mmap threshold first: with only the trim threshold raised, glibc's adaptive mmap threshold
    # stays low and big blocks still round-trip through mmap (measured: 3x the faults).
    applied = mallopt(M_MMAP_THRESHOLD, limit_bytes) == 1 and mallopt(M_TRIM_THRESHOLD, limit_bytes) == 1
    if not applied:
        log.debug("mallopt refused the thresholds; malloc keeps its defaults")
    return applied
