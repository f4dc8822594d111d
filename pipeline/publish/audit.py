"""Independent audit of published counts: how far can a reader narrow each hidden number?

A reader who sees a page knows more than its visible cells: row, column and margin totals, the
same count on another page, a share printed next to its denominator, the national figure next to
the regions. Every such number is a linear function of *inner cells* (the finest
cross-classification of the persons, e.g. doctors by cohort × region × specialty × track ×
outcome), so what the reader knows is a polytope: the non-negative inner-cell vectors ``x`` that
reproduce every published number. For a hidden (suppressed) cell ``c·x`` the reader's best
knowledge is the interval ``[min c·x, max c·x]`` over that polytope, which two linear programmes
give: the "attacker problem" of Hundepool et al. (2012, *Statistical Disclosure Control*, Wiley,
section 4.3), which Statistics Norway also solves after its Gaussian-elimination suppression
(Langsrud 2024; R package GaussSuppression).

A hidden cell is known to be at least 1 (zeros are always published, so anything hidden is
positive) and the audit uses that, as a reader would. An interval is *disclosive*
(:func:`disclosive`) when it is narrower than ``min_cell``, whatever its values: a reader cannot
tell why a cell was hidden, and a hidden 6 pinned to 6 beside a published 7 gives away the one
person who did not convert just as a pinned 1 would.

The audit deliberately shares no code with :mod:`pipeline.publish.disclosure`: it checks the
numbers pages show, however they were chosen.

Attacker model and limits
-------------------------
* The reader knows every number passed in (from all pages), which inner cells each one sums,
  that counts are non-negative and that hidden counts are at least 1; shares are known to
  within their rounding (:class:`Ratio`). Anything else a reader may know (a person's own
  record, other publications) is outside the model.
* The intervals are those of the *continuous* relaxation. Its polytope contains every integer
  solution, so the LP interval contains the integer one: an LP interval that is disclosive is
  certainly disclosive. The converse does not hold in general: the integer interval can be
  narrower when a share's rounding window admits only a few integer ratios, or in linked tables
  of three or more dimensions, whose constraint matrices are not totally unimodular. (For one-
  and two-way tables with margins and no shares the LP vertices are integral and the two
  coincide.) The bounds are rounded inward to whole numbers, which closes part of the gap, and
  ``integer=True`` solves the exact integer programmes instead (slower).
* Non-linear figures (a Wilson interval, an Aalen-Johansen estimate) are not modelled: publish
  them only where the counts they are computed from are published, and they add nothing.

SciPy's private HiGHS bindings are imported inside the solver that uses them, so that their
absence falls back to ``scipy.optimize.linprog`` instead of failing at import.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from pipeline.data.catalog import write_bytes

Terms = Mapping[Hashable, float]

# Slack on LP optima before rounding them inward: HiGHS meets constraints to about 1e-7.
ROUND_TOL = 1e-6
# |dual| above this marks a constraint as binding.
DUAL_TOL = 1e-9
# Witness search (Knowledge.narrow): while more than MIXED_AFTER targets are unproven, solve a
# pair of LPs with mixed objectives over them, at most MIXED_ROUNDS pairs, and stop early when
# a pair leaves more than MIXED_PROGRESS of them unproven.
MIXED_AFTER = 4
MIXED_ROUNDS = 8
MIXED_PROGRESS = 0.8
# "highs": warm-started HiGHS through SciPy's bindings, "linprog": scipy.optimize.linprog.
LP_BACKEND = "highs"


@dataclass(frozen=True)
class Cell:
    """One published number about persons.

    Attributes
    ----------
    name
        Where it is shown, e.g. ``"retention/funnel_region:Sjælland:followed"``.
    terms
        Inner cell -> coefficient; a count is a sum with coefficients 1.
    value
        The number shown, or None when it is suppressed.
    """

    name: str
    terms: Terms
    value: float | None

    @property
    def published(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Ratio:
    """A published share ``num / den``, rounded: the true share is within ``value ± half_width``.

    A share printed in percent with one decimal (``85,7 %``) has ``half_width=0.0005``. A share
    with ``value=None`` is hidden and tells the reader nothing.
    """

    name: str
    num: Terms
    den: Terms
    value: float | None
    half_width: float


@dataclass(frozen=True)
class Range:
    """A reader's interval for a hidden number, and the cells (indices into
    ``Knowledge.cells``) whose published values bound it."""

    low: float
    high: float
    binding: tuple[int, ...] = ()


def disclosive(low: float, high: float, min_cell: int) -> bool:
    """Does a reader who knows that a hidden count lies in ``[low, high]`` know too much?

    Yes when the interval is narrower than ``min_cell`` (``high - low < min_cell``), wherever it
    lies: the protection interval of Hundepool et al. (2012, section 4.3). A narrow interval of
    large values can still give away a small difference (a hidden child beside its published
    parent), and the audit does not know why a cell was hidden.
    """
    return high - low < min_cell


class Knowledge:
    """What a reader knows from the published numbers: a polytope over the inner cells.

    One row per cell: a published cell fixes its linear form (``c·x = value``), a hidden one
    only says ``c·x >= 1`` (with ``known_positive``). Each published share adds
    ``num - (v + h)·den <= 0``, ``num - (v - h)·den >= 0`` and ``den >= 1``. Inner cells are
    non-negative, and those of a published zero are fixed at zero (and left out of the LP).

    Parameters
    ----------
    cells, ratios
        Every published and hidden number the reader can see, on any page.
    known_positive
        Hidden cells are at least 1 (true when zeros are always published).
    variables
        Further inner cells (e.g. those only a sensitive combination mentions).
    """

    def __init__(
        self,
        cells: Sequence[Cell],
        ratios: Sequence[Ratio] = (),
        *,
        known_positive: bool = True,
        variables: Iterable[Hashable] = (),
    ) -> None:
        self.cells = list(cells)
        self.known_positive = known_positive
        self.index: dict[Hashable, int] = {}
        for key in variables:
            self.index.setdefault(key, len(self.index))
        for terms in [c.terms for c in self.cells] + [t for r in ratios for t in (r.num, r.den)]:
            for key in terms:
                self.index.setdefault(key, len(self.index))
        fixed = np.zeros(len(self.index), dtype=bool)
        for cell in self.cells:
            # A published zero with positive coefficients fixes all its inner cells at zero.
            if cell.value == 0 and all(v > 0 for v in cell.terms.values()):
                fixed[[self.index[k] for k in cell.terms]] = True
        self.fixed = fixed
        self._cols = np.flatnonzero(~fixed)  # the LP's variables
        rows: list[list[tuple[Terms, float]]] = [[(c.terms, 1.0)] for c in self.cells]
        lower = [self._bounds(c)[0] for c in self.cells]
        upper = [self._bounds(c)[1] for c in self.cells]
        for ratio in ratios:
            if ratio.value is not None:
                high, low = ratio.value + ratio.half_width, ratio.value - ratio.half_width
                rows += [[(ratio.num, 1.0), (ratio.den, -high)]]  # num - high·den <= 0
                rows += [[(ratio.num, 1.0), (ratio.den, -low)]]  # num - low·den >= 0
                rows += [[(ratio.den, 1.0)]]  # a share is printed only for den >= 1
                lower += [-np.inf, 0.0, 1.0]
                upper += [0.0, np.inf, np.inf]
        full = self._sparse(rows)
        self.matrix = full[:, self._cols].tocsr()
        self.lower, self.upper = np.array(lower, dtype=float), np.array(upper, dtype=float)
        empty = np.diff(self.matrix.indptr) == 0
        if np.any(empty & ((self.lower > 0) | (self.upper < 0))):
            raise ValueError(
                "a count is positive (published, or hidden and so at least 1), yet every inner "
                "cell of it is in a published zero"
            )
        # LP solutions, points of the polytope, one per row (the first n_points rows).
        self._points = np.zeros((16, len(self.index)))
        self.n_points = 0
        self._hidden_keys: set[frozenset] | None = None
        self._solver: _Linprog | _WarmHighs | None = None

    def _bounds(self, cell: Cell) -> tuple[float, float]:
        if cell.value is not None:
            return float(cell.value), float(cell.value)
        return (1.0 if self.known_positive else -np.inf), np.inf

    @property
    def hidden(self) -> list[Cell]:
        return [c for c in self.cells if c.value is None]

    def _sparse(self, rows: Sequence[Sequence[tuple[Terms, float]]]) -> sparse.csr_array:
        """Rows that are weighted sums of linear forms, over all inner cells."""
        data, row_ids, col_ids = [], [], []
        for r, parts in enumerate(rows):
            for terms, weight in parts:
                for k, v in terms.items():
                    row_ids.append(r)
                    col_ids.append(self.index[k])
                    data.append(weight * v)
        out = sparse.csr_array((data, (row_ids, col_ids)), shape=(len(rows), len(self.index)))
        out.sum_duplicates()  # a share's numerator and denominator share inner cells
        return out

    def vector(self, terms: Terms) -> np.ndarray:
        """A linear form over all inner cells as a dense vector."""
        c = np.zeros(len(self.index))
        for k, v in terms.items():
            c[self.index[k]] += v
        return c

    @property
    def points(self) -> np.ndarray:
        """The LP solutions so far, one per row: witnesses for :meth:`narrow`."""
        return self._points[: self.n_points]

    def hide(self, j: int) -> None:
        """Suppress published cell ``j``: its equation becomes "at least 1". This only widens
        the polytope, so earlier points stay valid witnesses."""
        cell = self.cells[j]
        if cell.value is None:
            return
        if cell.value == 0:
            raise ValueError(f"{cell.name}: zeros are published, never hidden")
        self.cells[j] = Cell(cell.name, cell.terms, None)
        self._hidden_keys = None
        self.lower[j], self.upper[j] = self._bounds(self.cells[j])
        if self._solver is not None:
            self._solver.set_row_bounds(j, self.lower[j], self.upper[j])

    # -- solving -----------------------------------------------------------------------------
    def _solve(self, c: np.ndarray) -> tuple[float, np.ndarray | None, np.ndarray]:
        """min c·x over the polytope: (optimum, a minimiser, row duals); -inf if unbounded."""
        if self._solver is None:
            self._solver = _make_solver(self.matrix, self.lower, self.upper)
        status, value, x_free, duals = self._solver.minimize(c[self._cols])
        if status == "unbounded":
            return -math.inf, None, np.zeros(len(self.lower))
        if status == "infeasible":
            raise ValueError(
                "the published numbers contradict each other (no counts reproduce them): "
                "check that every Cell and Ratio describes the same persons"
            )
        x = np.zeros(len(self.index))
        x[self._cols] = x_free
        if self.n_points == len(self._points):
            self._points = np.vstack([self._points, np.zeros_like(self._points)])
        self._points[self.n_points] = x
        self.n_points += 1
        return value, x, duals

    def _solve_integer(self, c: np.ndarray) -> float:
        res = milp(
            c[self._cols],
            constraints=[LinearConstraint(self.matrix, self.lower, self.upper)],
            integrality=np.ones(len(self._cols)),
            bounds=Bounds(0, np.inf),
        )
        if res.status == 2:
            raise ValueError("the published numbers have no integer solution")
        if res.status != 0:
            # HiGHS reports "infeasible or unbounded"; the relaxation is feasible, so unbounded.
            return -math.inf
        return float(res.fun)

    def range(self, terms: Terms, integer: bool = False) -> tuple[float, float]:
        """The reader's interval for ``terms·x``, rounded inward to whole numbers when the form
        has integer coefficients (every solution is then a whole number)."""
        c = self.vector(terms)
        if integer:
            low, high = self._solve_integer(c), -self._solve_integer(-c)
        else:
            low, high = self._solve(c)[0], -self._solve(-c)[0]
        return _round_inward(low, high, c)

    def narrow(
        self,
        targets: Mapping[str, Terms],
        min_cell: int,
        *,
        integer: bool = False,
        exact: bool = True,
    ) -> dict[str, Range]:
        """The targets a reader can narrow to a disclosive interval.

        Most hidden cells are far from the threshold, so this avoids two LPs per target where it
        can. Every LP solution is a point of the polytope (a *witness*), and two points at
        which a target differs by ``min_cell`` or more prove its interval that wide. A few LPs
        with pseudo-random mixed objectives (seeded: deterministic) push many targets to both
        ends at once; each target still unproven gets its own maximisation and minimisation,
        whose solutions are witnesses for the rest. Earlier points (``self.points``) count too.

        Parameters
        ----------
        targets
            Linear forms by name: hidden cells (then known to be at least 1) and sensitive
            combinations.
        min_cell
            The threshold.
        integer
            Solve each target's integer programmes instead (exact for counts; no witnesses,
            no duals, slower).
        exact
            Report the exact interval of a disclosive target. With False, a target whose
            maximum is less than ``min_cell`` above its trivial lower bound (1 for a hidden
            count, else 0) is reported with that bound as ``low``, which saves an LP.

        Returns
        -------
        dict of Range
            By target name: its interval and the published cells whose equations bind at the
            optima (non-zero duals).
        """
        names = list(targets)
        if integer:
            # Witnesses are points of the relaxation, not integer points: solve each target.
            found = {n: self.range(targets[n], integer=True) for n in names}
            return {n: Range(*r) for n, r in found.items() if disclosive(*r, min_cell)}
        if not names:
            return {}
        forms = self._sparse([[(targets[n], 1.0)] for n in names])
        integral = np.array(
            [np.all(d == np.round(d)) for d in np.split(forms.data, forms.indptr[1:-1])]
        )
        dense = forms.toarray()
        seen_low = np.full(len(names), np.inf)
        seen_high = np.full(len(names), -np.inf)

        def record(points: np.ndarray) -> None:
            """Take the targets' values at these points (rows) into account."""
            if not points.size:
                return
            if len(points) == 1:
                values = (forms @ points[0])[:, None]  # sparse matrix-vector product
            else:
                # Each target sums a few inner cells; small products avoid BLAS, whose threads
                # cost more than they save here.
                values = np.vstack(
                    [
                        points[:, forms.indices[a:b]] @ forms.data[a:b]
                        for a, b in pairwise(forms.indptr)
                    ]
                )
            np.minimum(seen_low, values.min(axis=1), out=seen_low)
            np.maximum(seen_high, values.max(axis=1), out=seen_high)

        def proven(i: int) -> bool:
            low, high = seen_low[i], seen_high[i]
            if not math.isfinite(high - low):
                return False
            if integral[i]:
                low, high = math.ceil(low - ROUND_TOL), math.floor(high + ROUND_TOL)
            return high - low >= min_cell

        record(self.points)
        rng = np.random.default_rng(0)
        before = math.inf
        for _ in range(MIXED_ROUNDS):
            open_ = [i for i in range(len(names)) if not proven(i)]
            if len(open_) <= MIXED_AFTER or len(open_) > MIXED_PROGRESS * before:
                break  # few left, or the last pair settled few: the rest are likely disclosive
            before = len(open_)
            weights = rng.choice([-1.0, 1.0], size=len(open_)) * rng.uniform(1, 2, len(open_))
            c = forms[open_].T @ weights
            for sign in (1.0, -1.0):
                _, x, _ = self._solve(sign * c)
                record(x[None, :] if x is not None else np.zeros((0, 0)))
        published = np.zeros(len(self.lower), dtype=bool)
        published[: len(self.cells)] = [c.value is not None for c in self.cells]
        out = {}
        for i, name in enumerate(names):
            if proven(i):
                continue
            form = dense[i]
            high_value, x_high, duals_high = self._solve(-form)
            if x_high is None:  # unbounded above: as wide as can be
                continue
            record(x_high[None, :])
            if proven(i):
                continue
            if not exact and np.all(form >= 0):
                floor = 1.0 if self._is_hidden_cell(targets[name]) else 0.0
                high = _round_inward(floor, -high_value, form)[1]
                if disclosive(floor, high, min_cell):
                    binding = np.flatnonzero((np.abs(duals_high) > DUAL_TOL) & published)
                    out[name] = Range(floor, high, tuple(binding.tolist()))
                    continue
            low_value, x_low, duals_low = self._solve(form)
            record(x_low[None, :] if x_low is not None else np.zeros((0, 0)))
            low, high = _round_inward(low_value, -high_value, form)
            if disclosive(low, high, min_cell):
                bind = (np.abs(duals_high) > DUAL_TOL) | (np.abs(duals_low) > DUAL_TOL)
                out[name] = Range(low, high, tuple(np.flatnonzero(bind & published).tolist()))
        return out

    def _is_hidden_cell(self, terms: Terms) -> bool:
        """Is this form a hidden cell's, and so known to be at least 1?"""
        if not self.known_positive:
            return False
        if self._hidden_keys is None:
            self._hidden_keys = {_key(c.terms) for c in self.hidden}
        return _key(terms) in self._hidden_keys


# --------------------------------------------------------------------------------------------
# LP backends: many objectives over one polytope, min c·x s.t. lower <= A x <= upper, x >= 0
# --------------------------------------------------------------------------------------------
Solution = tuple[str, float, np.ndarray | None, np.ndarray]  # status, optimum, x, row duals


class _Linprog:
    """``scipy.optimize.linprog`` (HiGHS): one cold solve per objective."""

    def __init__(self, matrix: sparse.csr_array, lower: np.ndarray, upper: np.ndarray) -> None:
        self.matrix, self.lower, self.upper = matrix, lower.copy(), upper.copy()

    def set_row_bounds(self, row: int, lower: float, upper: float) -> None:
        self.lower[row], self.upper[row] = lower, upper

    def minimize(self, c: np.ndarray) -> Solution:
        eq = np.flatnonzero(self.lower == self.upper)
        le = np.flatnonzero((self.lower != self.upper) & np.isfinite(self.upper))
        ge = np.flatnonzero((self.lower != self.upper) & np.isfinite(self.lower))
        a_ub = sparse.vstack([self.matrix[le], -self.matrix[ge]]).tocsr()
        b_ub = np.concatenate([self.upper[le], -self.lower[ge]])
        res = linprog(
            c,
            A_ub=a_ub if len(b_ub) else None,
            b_ub=b_ub if len(b_ub) else None,
            A_eq=self.matrix[eq] if len(eq) else None,
            b_eq=self.lower[eq] if len(eq) else None,
            bounds=(0, None),
            method="highs",
            options={"presolve": False},  # costs more than it saves on these problems
        )
        duals = np.zeros(len(self.lower))
        if res.status == 3:
            return "unbounded", -math.inf, None, duals
        if res.status == 2:
            return "infeasible", math.nan, None, duals
        if res.status != 0:
            raise RuntimeError(f"the LP solver failed: {res.message}")
        if len(eq):
            duals[eq] = res.eqlin.marginals
        if len(b_ub):
            duals[le] = res.ineqlin.marginals[: len(le)]
            duals[ge] = res.ineqlin.marginals[len(le) :]
        return "optimal", float(res.fun), res.x, duals


class _WarmHighs:
    """HiGHS through SciPy's bundled bindings, warm-started.

    The audit bounds hundreds of linear forms over one polytope, and the protector relaxes it
    one cell at a time. ``linprog`` starts every solve from scratch (hundreds of simplex
    iterations on a linked table); here the model is passed once and each new objective, or
    relaxed row, is re-solved with the primal simplex from the previous optimal basis, which
    stays feasible: typically a handful of iterations, 10-30 times faster. The bindings
    (``scipy.optimize._highspy._core``) are SciPy's private API, so if they are missing or
    changed, :func:`_make_solver` falls back to :class:`_Linprog`, and so does any solve whose
    status is not plainly optimal or unbounded.
    """

    def __init__(self, matrix: sparse.csr_array, lower: np.ndarray, upper: np.ndarray) -> None:
        from scipy.optimize._highspy import _core as highs

        self.highs = highs
        self.fallback = _Linprog(matrix, lower, upper)
        by_col = matrix.tocsc()
        n_row, n_col = by_col.shape
        lp = highs.HighsLp()
        lp.num_col_, lp.num_row_ = n_col, n_row
        lp.col_cost_ = np.zeros(n_col)
        lp.col_lower_ = np.zeros(n_col)
        lp.col_upper_ = np.full(n_col, highs.kHighsInf)
        lp.row_lower_ = np.where(np.isfinite(lower), lower, -highs.kHighsInf)
        lp.row_upper_ = np.where(np.isfinite(upper), upper, highs.kHighsInf)
        lp.a_matrix_.format_ = highs.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n_col, n_row
        lp.a_matrix_.start_ = by_col.indptr
        lp.a_matrix_.index_ = by_col.indices
        lp.a_matrix_.value_ = by_col.data.astype(float)
        self.solver = highs._Highs()
        for option, value in (
            ("output_flag", False),
            ("presolve", "off"),  # presolve would discard the basis
            ("simplex_strategy", 4),  # primal simplex: the previous basis stays feasible
        ):
            self.solver.setOptionValue(option, value)
        self.solver.passModel(lp)
        self.columns = np.arange(n_col, dtype=np.int32)

    def set_row_bounds(self, row: int, lower: float, upper: float) -> None:
        inf = self.highs.kHighsInf
        self.solver.changeRowBounds(
            row, lower if math.isfinite(lower) else -inf, upper if math.isfinite(upper) else inf
        )
        self.fallback.set_row_bounds(row, lower, upper)

    def minimize(self, c: np.ndarray) -> Solution:
        status = self.highs.HighsModelStatus
        self.solver.changeColsCost(len(c), self.columns, np.asarray(c, dtype=float))
        self.solver.run()
        model_status = self.solver.getModelStatus()
        if model_status == status.kOptimal:
            solution = self.solver.getSolution()
            value = float(self.solver.getInfo().objective_function_value)
            return "optimal", value, np.asarray(solution.col_value), np.asarray(solution.row_dual)
        if model_status == status.kUnbounded:
            return "unbounded", -math.inf, None, np.zeros(len(self.fallback.lower))
        # Infeasible, "unbounded or infeasible", a numerical hiccup: let linprog decide, cold.
        return self.fallback.minimize(c)


def _make_solver(
    matrix: sparse.csr_array, lower: np.ndarray, upper: np.ndarray
) -> _Linprog | _WarmHighs:
    if LP_BACKEND == "highs":
        try:
            return _WarmHighs(matrix, lower, upper)
        except (ImportError, AttributeError, TypeError):  # SciPy changed its private bindings
            pass
    return _Linprog(matrix, lower, upper)


def _key(terms: Terms) -> frozenset:
    return frozenset(terms.items())


def _round_inward(low: float, high: float, c: np.ndarray) -> tuple[float, float]:
    if np.all(c == np.round(c)):
        if math.isfinite(low):
            low = float(math.ceil(low - ROUND_TOL))
        if math.isfinite(high):
            high = float(math.floor(high + ROUND_TOL))
    return low, high


# --------------------------------------------------------------------------------------------
# The audit
# --------------------------------------------------------------------------------------------
def _forms(sensitive: Mapping[str, Terms] | Iterable[Cell]) -> dict[str, Terms]:
    if isinstance(sensitive, Mapping):
        return dict(sensitive)
    return {c.name: c.terms for c in sensitive}


def feasible_ranges(
    cells: Sequence[Cell],
    ratios: Sequence[Ratio] = (),
    *,
    known_positive: bool = True,
    extra: Mapping[str, Terms] | None = None,
    integer: bool = False,
) -> pd.DataFrame:
    """The interval a reader can narrow every hidden cell (and every ``extra`` form) to.

    Parameters
    ----------
    cells
        Published and hidden cells, from every page that shows numbers about the same persons.
    ratios
        Published shares with their rounding.
    known_positive
        Hidden cells are at least 1 (zeros are always published).
    extra
        Further linear combinations of inner cells to bound, by name (e.g. the number who did
        not convert, ``followed - converted``).
    integer
        Solve integer programmes (exact for counts) instead of their LP relaxation.

    Returns
    -------
    DataFrame
        ``name``, ``kind`` (``"cell"`` or ``"extra"``), ``low``, ``high`` (``inf`` when nothing
        bounds it) and ``width``; LP bounds are rounded inward to whole numbers where the form
        has integer coefficients.
    """
    extra = dict(extra or {})
    knowledge = Knowledge(
        cells, ratios, known_positive=known_positive, variables=_variables(extra.values())
    )
    rows = []
    for kind, items in (
        ("cell", [(c.name, c.terms) for c in knowledge.hidden]),
        ("extra", list(extra.items())),
    ):
        for name, terms in items:
            low, high = knowledge.range(terms, integer=integer)
            rows.append({"name": name, "kind": kind, "low": low, "high": high})
    out = pd.DataFrame(rows, columns=["name", "kind", "low", "high"])
    out["width"] = out["high"] - out["low"]
    return out


def audit(
    cells: Sequence[Cell],
    ratios: Sequence[Ratio] = (),
    min_cell: int = 5,
    sensitive: Mapping[str, Terms] | Iterable[Cell] = (),
    *,
    integer: bool | None = None,
) -> list[str]:
    """Every way the published numbers give away a small count; empty when they are safe.

    A problem is a published count of 1 to ``min_cell - 1``, or a hidden cell or ``sensitive``
    combination whose interval (:func:`feasible_ranges`) is narrower than ``min_cell``
    (:func:`disclosive`).

    Parameters
    ----------
    cells, ratios
        Everything published about the same persons, on every page.
    min_cell
        The disclosure threshold (``params.yaml: report.min_cell``).
    sensitive
        Linear combinations that count persons and must be protected too, by name (or as
        Cells): typically a parent minus a nested child in the same row, "followed but not
        converted", which a reader may get from margins even when both counts are hidden.
    integer
        Bound with exact integer programmes instead of the LP relaxation. By default, exactly
        when a share is published: a rounded share admits only a few integer ratios, and the
        relaxation can miss what they give away (``a + b + c = 15`` with ``a / (a + b)``
        printed as 77 % leaves the relaxation ``4 <= a <= 10``, yet only ``a, b, c = 10, 3,
        2`` fits in whole numbers). Without shares, linked tables of counts rarely differ.

    Returns
    -------
    list of str
        One line per problem, e.g. ``"<name>: can be narrowed to 3–3 from the published
        numbers (range < min_cell = 5)"``.
    """
    problems = [
        f"{c.name}: shows {_fmt(float(c.value))}, a count below min_cell = {min_cell}"
        for c in cells
        if c.value is not None and 0 < c.value < min_cell and _is_count(c.terms)
    ]
    if integer is None:
        integer = any(r.value is not None for r in ratios)
    forms = _forms(sensitive)
    knowledge = Knowledge(cells, ratios, variables=_variables(forms.values()))
    targets = {c.name: c.terms for c in knowledge.hidden} | forms
    for name, found in knowledge.narrow(targets, min_cell, integer=integer).items():
        problems.append(
            f"{name}: can be narrowed to {_fmt(found.low)}–{_fmt(found.high)} from the published "
            f"numbers (range < min_cell = {min_cell})"
        )
    return problems


def namespaced(cells: Sequence[Cell], space: str) -> list[Cell]:
    """``cells`` with their inner-cell keys prefixed by ``space``: cells about different sets of
    units (doctors, posts) then never share a variable in a joint audit."""
    return [Cell(c.name, {(space, key): v for key, v in c.terms.items()}, c.value) for c in cells]


def namespaced_terms(forms: Mapping[str, Terms], space: str) -> dict[str, dict[Hashable, float]]:
    """``sensitive`` forms with their keys prefixed like ``namespaced``."""
    return {name: {(space, key): v for key, v in terms.items()} for name, terms in forms.items()}


def save(
    path: str | Path,
    cells: Sequence[Cell],
    ratios: Sequence[Ratio] = (),
    sensitive: Mapping[str, Terms] | None = None,
) -> None:
    """Write what a stage publishes (and what must stay protected) for the report stage's
    audit, as JSON. Inner-cell keys are written as lists and read back as tuples, so use
    tuples (or scalars) of strings, numbers and booleans as keys."""
    data = {
        "cells": [{"name": c.name, "terms": _pairs(c.terms), "value": c.value} for c in cells],
        "ratios": [
            {
                "name": r.name,
                "num": _pairs(r.num),
                "den": _pairs(r.den),
                "value": r.value,
                "half_width": r.half_width,
            }
            for r in ratios
        ],
        "sensitive": {name: _pairs(terms) for name, terms in (sensitive or {}).items()},
    }
    # json writes tuples (nested too) as lists; numpy scalars go through ``_plain``.
    text = json.dumps(data, ensure_ascii=False, default=_plain)
    write_bytes(Path(path), text.encode("utf-8"))


def load(path: str | Path) -> tuple[list[Cell], list[Ratio], dict[str, dict[Hashable, float]]]:
    """Read what :func:`save` wrote: ``cells, ratios, sensitive``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = [Cell(c["name"], _terms(c["terms"]), c["value"]) for c in data["cells"]]
    ratios = [
        Ratio(r["name"], _terms(r["num"]), _terms(r["den"]), r["value"], r["half_width"])
        for r in data["ratios"]
    ]
    return cells, ratios, {name: _terms(t) for name, t in data["sensitive"].items()}


def _pairs(terms: Terms) -> list[list]:
    return [[k, float(v)] for k, v in terms.items()]


def _plain(value: Any) -> Any:
    """A numpy scalar in a key as Python's (what json cannot write itself)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} cannot be written to an audit file")


def _terms(pairs: list[list]) -> dict[Hashable, float]:
    return {_hashable_key(k): v for k, v in pairs}


def _hashable_key(key: Any) -> Hashable:
    return tuple(_hashable_key(k) for k in key) if isinstance(key, list) else key


def _variables(forms: Iterable[Terms]) -> list[Hashable]:
    return [k for terms in forms for k in terms]


def _is_count(terms: Terms) -> bool:
    return all(v == 1 for v in terms.values())


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return str(int(value)) if value == int(value) else f"{value:g}"
