"""Keep the cyclic garbage collector's full passes off a long-running process's hot path.

A full (generation 2) collection walks every container object alive: imported modules, discord.py's
command tree, a worker's loaded pipelines. That pause lands on whatever the process is doing at the
time: measured in bench/ack_load.py, one such pass held a burst of interaction replies for 65 ms.
Objects alive once start-up is done live for the whole process, so they are frozen out of the
collector's reach (gc.freeze, as large Python services do); everything made later is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect start-up garbage first (frozen garbage would never be freed), then freeze the rest."""
    gc.collect()
    gc.freeze()
