"""Big buffers handed back to the operating system when freed, so that a run's memory stays bounded.

glibc's malloc serves a large request from a thread's heap once a buffer of that size has been freed (its
mmap threshold rises to the largest size freed), and a heap cut up by the answers of many worker threads
is not given back: a long `%%embed --store` run grew by ~0.5 GB that way, all of it already freed. Fixing
the threshold keeps buffers of a megabyte or more (answers, vector chunks) in mappings of their own,
returned whole to the system on free. Elsewhere than glibc nothing is done.
"""
from __future__ import annotations

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
LARGE = 1 << 20        # bytes from which a buffer gets a mapping of its own

_done = False


def return_large_buffers() -> None:
    """Once per process: buffers of LARGE bytes or more are mapped on their own (glibc only)."""
    global _done
    if _done:
        return
    _done = True
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, LARGE)
    except (OSError, AttributeError):  # musl and others: no mallopt, nothing to tune
        pass
