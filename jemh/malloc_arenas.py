"""Fewer malloc arenas in a threaded worker: glibc gives each thread that allocates its own arena (up to 8 per
core), and a pool of threads processing mail leaves each arena holding freed memory it cannot return, so a worker's
resident memory grows with its threads. Capping the arenas (glibc's ``M_ARENA_MAX``, as ``MALLOC_ARENA_MAX`` in the
environment does) keeps it near a single-threaded process's; the GIL already serialises most allocations, so the
shared arenas cost no throughput worth measuring. ``JEMH_MALLOC_ARENAS`` (0: glibc's default); glibc only."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's <malloc.h>


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap this process's malloc arenas at ``arenas`` (before its threads start); whether the C library took it.
    An explicit ``MALLOC_ARENA_MAX`` in the environment wins (glibc read it at start)."""
    if arenas <= 0 or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to cap
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    taken = bool(mallopt(M_ARENA_MAX, arenas))
    if not taken:
        log.info("the C library refused M_ARENA_MAX=%s; the worker keeps its default malloc arenas", arenas)
    return taken
