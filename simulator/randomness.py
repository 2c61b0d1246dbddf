"""Named, independent random streams and vectorised date helpers.

Each part of the world draws from its own stream derived from (seed, name), so adding draws
to one part never shifts another part's output."""

from __future__ import annotations

import datetime as dt
import zlib

import numpy as np

DAY = np.timedelta64(1, "D")
SECOND = np.timedelta64(1, "s")


def stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def d64(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def uniform_dates(
    rng: np.random.Generator, start: dt.date | np.ndarray, end: dt.date | np.ndarray, n: int
) -> np.ndarray:
    """Dates uniform in [start, end] (inclusive); bounds may be arrays."""
    lo = np.asarray(start, dtype="datetime64[D]")
    hi = np.asarray(end, dtype="datetime64[D]")
    span = (hi - lo).astype(np.int64) + 1
    return lo + (rng.random(n) * span).astype(np.int64) * DAY


def dates_with_weights(
    rng: np.random.Generator, start: dt.date, end: dt.date, n: int, weights: np.ndarray
) -> np.ndarray:
    """Dates in [start, end] drawn with a per-day weight (e.g. a season or weekday shape)."""
    days = np.arange(d64(start), d64(end) + DAY, DAY)
    p = np.asarray(weights, dtype=float)
    return days[rng.choice(len(days), n, p=p / p.sum())]


def office_time(rng: np.random.Generator, dates: np.ndarray) -> np.ndarray:
    """A timestamp during office hours (08:30-18:00) on each date."""
    seconds = rng.integers(8 * 3600 + 1800, 18 * 3600, len(dates))
    return dates.astype("datetime64[us]") + seconds * SECOND


def calibrate_sum(values: np.ndarray, target: int, rng: np.random.Generator) -> np.ndarray:
    """Rescale positive integers (each >= 1) so they sum exactly to `target`."""
    values = np.asarray(values, dtype=np.int64)
    n = len(values)
    if n == 0:
        return values
    if target < n:
        raise ValueError(f"cannot spread {target} over {n} rows of at least 1")
    out = np.maximum(1, np.round(values * (target / values.sum()))).astype(np.int64)
    diff = int(target - out.sum())
    while diff != 0:
        if diff > 0:
            idx = rng.choice(n, min(diff, n), replace=False)
            out[idx] += 1
            diff -= len(idx)
        else:
            candidates = np.flatnonzero(out > 1)
            idx = rng.choice(candidates, min(-diff, len(candidates)), replace=False)
            out[idx] -= 1
            diff += len(idx)
    return out


def exact_count_choice(rng: np.random.Generator, pool: np.ndarray, k: int) -> np.ndarray:
    """Choose exactly k distinct elements of `pool` (all of them when k exceeds it)."""
    k = min(k, len(pool))
    return np.sort(rng.choice(pool, k, replace=False)) if k else pool[:0]


def entry_lag(rng: np.random.Generator, dates: np.ndarray) -> np.ndarray:
    """Days between an activity and its entry: usually the same day, sometimes one or two
    days late, but never across a year end (the year's report closes the books)."""
    lag = np.where(rng.random(len(dates)) < 0.8, 0, rng.integers(1, 3, len(dates)))
    year_end = (dates + 3 * DAY).astype("datetime64[Y]") != dates.astype("datetime64[Y]")
    return np.where(year_end, 0, lag) * DAY
