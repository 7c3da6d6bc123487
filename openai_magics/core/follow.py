"""Following a job the server runs (a video, a batch, a fine-tuning job): read it again until it ends."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

Reading = TypeVar("Reading")
GROWTH = 1.5  # each wait between readings is half as long again as the one before


def follow_job(read: Callable[[], Reading], ended: Callable[[Reading], bool], show: Callable[[Reading], None], *,
               first_wait: float, longest_wait: float, first: Reading | None = None) -> Reading:
    """`read()` until `ended(reading)`; each reading, the last one too, goes to `show`. The waits grow up to
    `longest_wait`, so an hour-long job is read a few hundred times, not thousands. `first` is a reading in
    hand already (the answer that started the job). An interrupt stops the following, not the job."""
    reading, wait = read() if first is None else first, first_wait
    while True:
        show(reading)
        if ended(reading):
            return reading
        time.sleep(wait)
        wait = min(wait * GROWTH, longest_wait)
        reading = read()
