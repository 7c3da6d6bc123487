"""Figures of a scoreboard: the pass rate's 95% Wilson interval, latency percentiles."""
from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson(passed: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The 95% Wilson score interval of a pass rate (sound for small samples and rates near 0 or 1)."""
    if total == 0:
        return (math.nan, math.nan)
    p = passed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    return (0.0 if passed == 0 else low, 1.0 if passed == total else high)  # exact at the ends, no rounding


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    import numpy as np

    return float(np.percentile(values, q))
