"""Keep freed tensor memory in the process instead of handing it back to the kernel after every use.

glibc's malloc serves large blocks with fresh mmap pages and trims the heap top as soon as 128 KB or more is free, so
on CPU every training step maps, faults in and unmaps the same few hundred megabytes again: 75 000 page faults a
second and two thirds of the CPU time in the kernel while training on 2 cores. The settings below keep that memory
for reuse: 1.28x the training speed (BENCHMARKS.md, "Memory allocator"). Linux with glibc only; a user who sets
glibc's own MALLOC_*_ variables (or GLIBC_TUNABLES) keeps them.
"""
import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # mallopt parameters, from glibc's malloc.h
SETTINGS = {
    M_MMAP_THRESHOLD: 256 << 20,  # blocks up to 256 MB (a training batch's activations) come from the reusable heap
    M_TRIM_THRESHOLD: 1 << 30,  # give the heap top back only when a gigabyte of it is free
    M_TOP_PAD: 256 << 20,  # grow the heap in large steps rather than a few pages at a time
}


def keep_freed_memory() -> bool:
    """Tune glibc's malloc for tensor workloads; True when it was done (process-wide, for later allocations)."""
    users_own = any(n == "GLIBC_TUNABLES" or (n.startswith("MALLOC_") and n.endswith("_")) for n in os.environ)
    if users_own or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS.items())
