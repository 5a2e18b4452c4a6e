"""A threaded worker keeps to a few malloc arenas (jemh.malloc_arenas): counted with glibc's own malloc_info."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import ctypes, ctypes.util, os, sys, tempfile, threading
    from jemh.malloc_arenas import limit_malloc_arenas

    taken = limit_malloc_arenas(int(sys.argv[1]))
    kept, together = [], threading.Barrier(8)

    def allocate():  # blocks of 1 KB and more come from malloc (smaller ones from Python's own allocator)
        together.wait()  # all alive at once, as a pool's threads are (a finished thread's arena is reused)
        kept.append([bytearray(4096) for _ in range(200)])
        together.wait()

    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    path = tempfile.mktemp()
    stream = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    with open(path) as report:
        heaps = report.read().count("<heap nr=")
    os.unlink(path)
    print(taken, heaps)
    """
)


def _arenas(arenas: int, **env: str) -> tuple[str, int]:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(arenas)], capture_output=True, text=True, check=True, env=environment
    ).stdout.split()
    return out[0], int(out[1])


def test_a_capped_process_keeps_its_threads_in_two_arenas() -> None:
    assert _arenas(2) == ("True", 2)
    taken, uncapped = _arenas(0)
    assert taken == "False" and uncapped > 2  # glibc's default: an arena per thread, up to 8 per core


def test_malloc_arena_max_in_the_environment_wins() -> None:
    taken, heaps = _arenas(2, MALLOC_ARENA_MAX="1")
    assert (taken, heaps) == ("False", 1)
