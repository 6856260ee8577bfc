"""No cyclic garbage collection while a PDF is laid out and written: about a tenth of a long render.

A long table allocates millions of strings and tuples and keeps hundreds of
thousands in its caches (lines, runs, widths), so CPython's collector, run
every 700 allocations, walks the same live objects again and again, the full
collections every cached object; it finds almost nothing, since the renderer
makes few reference cycles (100,000 mixed-script rows: the same peak RSS
either way, and about 60,000 cyclic objects left for the next full
collection). Reference counting still frees everything else at once.
Collection resumes when the last render running in the process ends, so a
concurrent render in another thread cannot leave it off; the young
generation, which then holds everything the render kept, is collected there
and then (about 0.1 s for 100,000 rows), so its cost is counted in the render.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0
_was_enabled = True


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; the outermost block's end restores it and collects
    the young generation."""
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            restore = _active == 0 and _was_enabled
            if restore:
                gc.enable()
        if restore:
            gc.collect(0)
