"""Every sentence on a page that states a finding, as a function of the numbers.

A direction, a size or a verdict ("faster", "fallen", "short", "empty", "closes the gap") is
never a fixed string: each is decided here from an estimate and its 95 % interval, with the
threshold named, so a page says what its data say and an extract where the answer reverses
reverses the sentence. ``tests/test_findings.py`` gives each claim numbers that make it true and
numbers that flip it.
"""

from __future__ import annotations

import math
from typing import Any

from pipeline.publish.fmt import CI95, interval, number, percent
from pipeline.publish.labels import MODEL_LABELS, lower_first

# A share of posts left empty that a director would call "many" (here: one post in ten).
UNFILLED_NOTABLE = 0.10
# A probability of reaching a target at or above LIKELY is "næsten sikkert", below UNLIKELY
# "næppe"; in between the number is given against the probability asked for.
LIKELY = 0.9
UNLIKELY = 0.1
# An interval of zero width around an estimated quantity means nothing was estimated.
ZERO_WIDTH = 1e-9


def _missing(*values: Any) -> bool:
    return any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values)


def direction(value: float, low: float | None, high: float | None, null: float = 0.0) -> str:
    """``"up"``, ``"down"`` or ``"unclear"``: up only when the whole 95 % interval lies above
    ``null``, down only when it lies below; an interval that covers ``null`` is unclear."""
    if _missing(low, high):
        return "unclear" if _missing(value) else ("up" if value > null else "down")
    if low > null:
        return "up"
    if high < null:
        return "down"
    return "unclear"


def ci(low: Any, high: Any, formatter=number, assumed: bool = False) -> str:
    """``"95 %-interval a til b"``; an interval of zero width is a stated assumption
    (``"antaget"``) or, for an estimated quantity, ``"interval ikke estimeret"``."""
    if _missing(low, high):
        return "interval ikke estimeret"
    if abs(high - low) <= ZERO_WIDTH:
        return "antaget" if assumed else "interval ikke estimeret"
    return f"{CI95} {interval(low, high, formatter)}"


def growth(rate: float, low: float, high: float) -> str:
    """The predicate of a growth sentence, auxiliary verb included: ``"er vokset med 3,7 % om
    året (…)"``, ``"er faldet med 0,2 % om året (…)"`` or, when the interval covers zero,
    ``"har ikke ændret sig tydeligt (…)"``."""
    bounds = ci(low, high, percent)
    match direction(rate, low, high):
        case "up":
            return f"er vokset med {percent(rate)} om året ({bounds})"
        case "down":
            return f"er faldet med {percent(-rate)} om året ({bounds})"
    return f"har ikke ændret sig tydeligt ({percent(rate)} om året, {bounds})"


def faster(difference: float, low: float, high: float) -> str:
    """Patients' growth compared with physicians': ``"hurtigere end"``, ``"langsommere end"`` or
    ``"ikke tydeligt anderledes end"`` (the interval of the difference covers zero)."""
    return {"up": "hurtigere end", "down": "langsommere end"}.get(
        direction(difference, low, high), "ikke tydeligt anderledes end"
    )


def shortage(gap: float, low: float | None, high: float | None, what: str = "læger") -> str:
    """A gap (needed minus available) as a verdict: ``"mangler der 819 læger (…)"``, a surplus
    as ``"er der 1.079 læger flere end behovet (…)"``. When the 95 % interval covers zero the
    best estimate is given with the warning that the interval holds the opposite too. Without
    an interval (measured in the data) the sign decides."""
    measured = _missing(low, high) or abs(high - low) <= ZERO_WIDTH
    bounds = "målt i data" if measured else ci(low, high)
    if measured:
        low = high = gap
    match direction(gap, low, high):
        case "up":
            return f"mangler der {number(gap)} {what} ({bounds})"
        case "down":
            return f"er der {number(-gap)} {what} flere end behovet ({bounds})"
    if gap > 0:
        return (
            f"mangler der efter bedste skøn {number(gap)} {what}, men {CI95}let "
            f"({interval(low, high)}) rummer også et overskud"
        )
    if gap < 0:
        return (
            f"er der efter bedste skøn {number(-gap)} {what} flere end behovet, men "
            f"{CI95}let ({interval(low, high)}) rummer også en mangel"
        )
    return f"er der balance mellem behov og {what} ({bounds})"


def gap_kind(gap: float, low: float | None, high: float | None) -> str:
    """``"shortage"``, ``"surplus"`` or ``"balance"``, decided like ``shortage``."""
    return {"up": "shortage", "down": "surplus"}.get(direction(gap, low, high), "balance")


def estimate_kind(gap: float) -> str:
    """``"surplus"`` or ``"shortage"`` by the best estimate alone: the words a change is said
    in ("øger overskuddet", "mindsker manglen") follow the side the estimate is on, also when
    its interval reaches the other side (the gap's own sentence says that)."""
    return "surplus" if gap < 0 else "shortage"


def lever_effect(change: float, low: float | None, high: float | None, kind: str) -> str:
    """What a lever does to the gap, in the words of the gap's ``kind`` (``gap_kind``):
    ``"mindsker manglen med 37 (…)"``, ``"øger overskuddet med 37 (…)"``, …"""
    size = number(abs(change))
    if change <= 0:
        verb = {"surplus": "øger overskuddet"}.get(kind, "mindsker manglen")
        bounds = ci(-high, -low) if not _missing(low, high) else "interval ikke estimeret"
    else:
        verb = {"surplus": "mindsker overskuddet"}.get(kind, "øger manglen")
        bounds = ci(low, high) if not _missing(low, high) else "interval ikke estimeret"
    return f"{verb} med {size} ({bounds})"


def posts_left_empty(fill_rate: float) -> str:
    """H-posts: ``"står tomme"`` only when at least ``UNFILLED_NOTABLE`` of them are unfilled."""
    unfilled = 1 - fill_rate
    if unfilled >= UNFILLED_NOTABLE:
        return (
            f"{percent(unfilled, 0)} af hoveduddannelsesforløbene står tomme "
            f"({percent(fill_rate, 0)} besat)"
        )
    return f"næsten alle hoveduddannelsesforløb bliver besat ({percent(fill_rate, 0)})"


def closes_the_gap(
    gap_after: float,
    low: float | None,
    high: float | None,
    before: tuple[float, float | None, float | None] | None = None,
) -> str:
    """What all levers together do to the gap: ``"lukker gabet"`` only when even the top of the
    interval is no shortage; ``"kan lukke gabet"`` when the estimate is no shortage but the
    interval reaches one; otherwise ``"mindsker gabet, men lukker det ikke"``. With ``before``
    (the gap without the levers) whose best estimate is a surplus there is no gap to close: the
    levers ``"øger overskuddet"`` (or ``"mindsker overskuddet"``)."""
    if before is not None and estimate_kind(before[0]) == "surplus":
        return "øger overskuddet" if gap_after <= before[0] else "mindsker overskuddet"
    top = gap_after if _missing(high) else high
    if top <= 0:
        return "lukker gabet"
    if gap_after <= 0:
        return "kan lukke gabet, men det er ikke sikkert"
    return "mindsker gabet, men lukker det ikke"


def moves_faster(ratio: float, low: float, high: float) -> str:
    """A hazard ratio as words: ``"kom hurtigere videre"`` only when the interval lies above 1,
    ``"kom langsommere videre"`` below it, else ``"kom hverken tydeligt hurtigere eller
    langsommere videre"``."""
    return {"up": "kom hurtigere videre", "down": "kom langsommere videre"}.get(
        direction(ratio, low, high, null=1.0),
        "kom hverken tydeligt hurtigere eller langsommere videre",
    )


def model_choice(metrics: dict[str, Any]) -> str:
    """Why the projection model was chosen, from the growth stage's scores (never a claim the
    scores do not support)."""
    model = MODEL_LABELS.get(metrics.get("projection_model"), metrics.get("projection_model"))
    if metrics.get("choice_requested"):
        return f"Fremskrivningen bygger på {lower_first(model)}, som er valgt i params.yaml."
    rival = metrics.get("choice_runner_up")
    difference = metrics.get("choice_relative_difference")
    text = (
        f"Fremskrivningen bygger på {lower_first(model)}: i en test på tidligere år ramte den de "
        "faktiske tal bedst, målt på hele usikkerhedsbåndet"
    )
    if rival and not _missing(difference):
        rival_label = lower_first(MODEL_LABELS.get(rival, rival))
        if difference < 0.05:
            text += (
                f", men kun lidt bedre end {rival_label} ({percent(difference)}), så valget af "
                "model er en del af usikkerheden"
            )
        else:
            text += f", tydeligt bedre end {rival_label}"
    return text + "."


def probability_words(p: float | None, required: float) -> str:
    """The probability of reaching a target in words: ``"næsten sikkert (93 %)"`` from
    ``LIKELY``, ``"næppe (4 %)"`` below ``UNLIKELY``, otherwise the number against the
    probability asked for (``supply.required_probability``)."""
    if _missing(p):
        return "ikke estimeret"
    if p >= LIKELY:
        return f"næsten sikkert ({percent(p, 0)})"
    if p < UNLIKELY:
        return f"næppe ({percent(p, 0)})"
    side = "over" if p >= required else "under"
    return f"med {percent(p, 0)} sandsynlighed ({side} de ønskede {percent(required, 0)})"


def growth_comparison(
    patients_rate: float, physicians_rate: float, difference: float, low: float, high: float
) -> str:
    """Which of patients and physicians has grown faster, from the difference of the yearly
    growth rates (patients minus physicians) and its 95 % interval, as a sentence; the faster
    one "er vokset hurtigere" when it grew, "er faldet langsommere" when it fell."""
    size = f"forskel {number(100 * difference, 1)} procentpoint om året, {ci(low, high, _pp)}"

    def faster(first: str, rate: float, second: str) -> str:
        verb = "er vokset hurtigere" if rate > 0 else "er faldet langsommere"
        return f"{first} {verb} end {second} ({size})"

    match direction(difference, low, high):
        case "up":
            return faster("Patienttallet", patients_rate, "lægetallet")
        case "down":
            return faster("Lægetallet", physicians_rate, "patienttallet")
    return f"Patienttallet og lægetallet har ikke udviklet sig tydeligt forskelligt ({size})"


def _pp(value: float) -> str:
    return number(100 * value, 1)


def trend_verb(rate: float, low: float, high: float) -> str:
    """``"vokser"``, ``"falder"`` or ``"ændrer sig ikke tydeligt"`` for a growth rate."""
    return {"up": "vokser", "down": "falder"}.get(
        direction(rate, low, high), "ændrer sig ikke tydeligt"
    )
