"""Definitions shared by the analyses: what counts as continuing from an I-post to an H-post.

The retention stage and the initiatives stage both measure "an H-post in psychiatry within the
horizon of the I-start"; the definition lives here once, on the trainees table as ingest types
it (one row per I-post start).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Both psychiatric specialties count as continuing in psychiatry.
PSYCHIATRY = ("psychiatry", "child_adolescent_psychiatry")
DAYS_PER_YEAR = 365.25
# Competing outcomes after an I-post, in the order a doctor can have them (codes 1-3; 0 = none
# yet, censored at the extract date).
OUTCOMES = {1: "h_psychiatry", 2: "h_other", 3: "exit"}


def outcome_events(trainees: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The first outcome of each I-post start and the years until it (or until the extract
    date when none happened yet): ``(event, time)``, event coded as in ``OUTCOMES``."""
    t = trainees
    h_psych = t["h_start"].notna() & t["h_specialty"].isin(PSYCHIATRY)
    h_other = t["h_start"].notna() & ~t["h_specialty"].isin(PSYCHIATRY)
    exited = t["exit_date"].notna()
    event = np.select([h_psych, h_other, exited], [1, 2, 3], default=0)
    end = t["h_start"].where(t["h_start"].notna(), t["exit_date"]).fillna(t["extract_date"])
    days = (end - t["i_start"]).dt.days.to_numpy(dtype=float)
    # An outcome on the first day still happened after the start.
    return event, np.maximum(days, 0.5) / DAYS_PER_YEAR


def converted_within(
    trainees: pd.DataFrame,
    horizon_years: float,
    events: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Whether each I-post start was followed by an H-post in psychiatry within
    ``horizon_years`` (the retention stage's headline measure). ``events`` is
    ``outcome_events(trainees)`` where the caller has it already."""
    event, time = outcome_events(trainees) if events is None else events
    return (event == 1) & (time <= horizon_years)


def followed_years(trainees: pd.DataFrame) -> np.ndarray:
    """Years from each I-start to the extract date: how long the data can follow it."""
    return (trainees["extract_date"] - trainees["i_start"]).dt.days.to_numpy() / DAYS_PER_YEAR
