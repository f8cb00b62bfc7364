"""`switchboard <args>` with tracemalloc on, for `bench_soak.py --trace`: each SIGUSR1
dumps a snapshot to `$SWITCHBOARD_SOAK_TRACE/snapshot-<n>.pickle` (n counts from 1)."""

from __future__ import annotations

import gc
import itertools
import os
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_COUNT = itertools.count(1)


def _dump(_signum: int, _frame: FrameType | None) -> None:
    gc.collect()
    target = Path(os.environ["SWITCHBOARD_SOAK_TRACE"]) / f"snapshot-{next(_COUNT)}.pickle"
    tracemalloc.take_snapshot().dump(str(target))
    (target.parent / (target.name + ".done")).touch()


if __name__ == "__main__":
    tracemalloc.start(int(os.environ.get("SWITCHBOARD_SOAK_FRAMES", "12")))
    signal.signal(signal.SIGUSR1, _dump)
    from bot.cli import main

    sys.argv = ["switchboard", *sys.argv[1:]]
    main()
