"""Disclosure control for linked tables of counts: primary and secondary cell suppression.

Every count a page, a table file, ``metrics.json`` or a figure publishes is a sum over *inner
cells*, the finest cross-classification of one set of persons (doctors by cohort × region ×
specialty × track × outcome). Tables that are different marginals of the same inner cells are
*linked*: a hidden cell in one can be recovered from the others (the national total minus the
regions shown, the same count on another page). So they are protected together, in three steps.

1. **Primary suppression.** A count of 1 to ``min_cell - 1`` is hidden, and so is a nested count
   whose difference to its parent in the same row is that small ("Fulgt 7 | H-forløb 6": one
   doctor did not convert, so the 6 is hidden). Zeros are published: they describe nobody.
2. **Secondary suppression by Gaussian elimination** (Langsrud 2024; R package
   GaussSuppression, Statistics Norway). With ``X`` the inner cells × published cells matrix of
   zeros and ones, a hidden cell can be recovered exactly when its column is a linear
   combination of the published columns. The candidates for publication are taken one at a time,
   in order of preference (large counts first, since a total carries the most information, then
   broad cells first); each is eliminated from the remaining columns. A candidate whose
   elimination would turn a primary column (or a protected difference) into zero would make it a
   combination of published cells, so it is suppressed instead (a *secondary* cell). The result
   is a pattern in which no primary cell and no protected difference is a linear combination of
   published numbers, found without any optimisation and fast for thousands of cells.
3. **Interval check and fix-up.** Linear independence is not enough for counts: a reader also
   knows that counts are non-negative and that hidden cells are at least 1, so two hidden cells
   of 1 and 3 in a row with a published total of 4 are both narrowed to 1–3. A quick rule fixes
   the commonest case (hidden parts of a published margin with a small sum); then the LP model
   of the independent audit (:mod:`pipeline.publish.audit`) bounds every hidden cell and
   protected difference, and while one can be narrowed to an interval narrower than
   ``min_cell``, one more published cell is suppressed, chosen among those whose equations
   bound it (non-zero LP duals), smallest first. Suppression only ever widens the intervals,
   so this ends, at the latest when everything but the zeros is hidden. This is the interval
   protection GaussSuppression adds with an LP solver, done here always.

Limits
------
* The pattern is good, not optimal: statistical offices' optimal methods (tau-Argus'
  Optimal/Modular, sdcTable) minimise the suppressed information with mixed-integer
  programmes; the elimination order (large counts published first) and the smallest-binding-
  cell rule are heuristics, deterministic but greedy.
* The guarantee is the audit's: the LP relaxation over the tables registered together. Counts
  published elsewhere from the same persons must be registered in the same
  :class:`LinkedTables`, or audited together (:func:`pipeline.publish.audit.save`).
* The inner cells are the full cross-product of the dims' observed levels and the outcome
  categories, so a few thousand at most; more dims multiply them.

References
----------
Langsrud, Ø. (2024). Secondary cell suppression by Gaussian elimination: an algorithm suitable
for handling issues with zeros and singletons. *Privacy in Statistical Databases* (PSD 2024),
Springer. doi:10.1007/978-3-031-69651-0_6. Implemented in the R package GaussSuppression.

Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E., Spicer, K.
and de Wolf, P.-P. (2012). *Statistical Disclosure Control*. Wiley. Chapter 4 (tables).

Using it
--------
Shares, rates and intervals are the caller's: a share or interval is published only when its
numerator, its denominator and their difference are all published (:func:`mask_dependent`
blanks them in every row where a count is hidden). Then it reveals nothing the counts do not.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipeline.publish.audit import Cell, Knowledge

SUPPRESSED = "_suppressed"  # suffix of the boolean column that marks a hidden count
TOTAL = "total"  # row label of a table without grouping columns
TOL = 1e-9  # Gaussian elimination on 0/±1 matrices: entries stay small rationals
# (cell, cells that split it, sizes of the unpublished rest): see protect_cells.
Partition = tuple[int, Sequence[int], Sequence[int]]


# --------------------------------------------------------------------------------------------
# Secondary suppression by Gaussian elimination (Langsrud 2024)
# --------------------------------------------------------------------------------------------
def gauss_suppression(
    x: np.ndarray,
    primary: np.ndarray,
    candidates: Sequence[int],
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """Secondary suppression: which published cells to hide so no primary cell is recoverable.

    Parameters
    ----------
    x
        Inner cells × published cells; column ``j`` holds the coefficients of cell ``j``
        (``y = x.T @ inner``). Drop the rows of inner cells a reader knows to be zero (those in
        a published zero) first: they carry no uncertainty.
    primary
        Boolean mask over the columns: cells that must not be recoverable.
    candidates
        Columns that may be published, in order of preference (the first are the most likely
        to be published). Columns in neither ``primary`` nor ``candidates`` are *forced*:
        published whatever they reveal (they are eliminated first; zero columns cost nothing).
    extra
        Further protected linear forms, inner cells × k (e.g. a parent minus a nested child):
        like primary cells, but not cells of the table (Langsrud's ``xExtraPrimary``).

    Returns
    -------
    ndarray of bool
        The suppressed cells: ``primary`` plus the secondary ones.

    Notes
    -----
    Published columns span a subspace; a protected form is recoverable exactly when it lies in
    that span. Each candidate is reduced by the published columns before it (column-wise
    Gaussian elimination with the largest entry as pivot). A reduced candidate of zeros is
    already in the span, so publishing it reveals nothing new. Otherwise, eliminating its pivot
    row from a protected form leaves zeros exactly when the form is a multiple of the candidate
    modulo the published span, i.e. when publishing the candidate would reveal it; then the
    candidate is suppressed and the elimination undone.
    """
    x = np.asarray(x, dtype=float)
    primary = np.asarray(primary, dtype=bool)
    candidates = [int(c) for c in candidates]
    forms = [x[:, primary]]
    if extra is not None and extra.size:
        forms.append(np.asarray(extra, dtype=float))
    protected = np.hstack(forms)
    listed = set(candidates) | set(np.flatnonzero(primary).tolist())
    forced = [j for j in range(x.shape[1]) if j not in listed]
    order = forced + candidates
    reduced = x[:, order].copy()
    suppressed = primary.copy()
    for k, cell in enumerate(order):
        b = reduced[:, k]
        rows = np.flatnonzero(np.abs(b) > TOL)
        if rows.size == 0:
            continue  # a combination of published cells already
        pivot = rows[np.argmax(np.abs(b[rows]))]
        hit = np.flatnonzero(np.abs(protected[pivot]) > TOL)
        if hit.size and k >= len(forced):
            trial = protected[:, hit]
            trial[rows] -= np.outer(b[rows], protected[pivot, hit] / b[pivot])
            trial[np.abs(trial) < TOL] = 0.0
            if not trial.any(axis=0).all():
                suppressed[cell] = True
                continue
            protected[:, hit] = trial
        later = k + 1 + np.flatnonzero(np.abs(reduced[pivot, k + 1 :]) > TOL)
        if later.size:
            block = reduced[np.ix_(rows, later)]
            block -= np.outer(b[rows], reduced[pivot, later] / b[pivot])
            block[np.abs(block) < TOL] = 0.0
            reduced[np.ix_(rows, later)] = block
    return suppressed


# --------------------------------------------------------------------------------------------
# The whole procedure on cells given as sets of inner cells
# --------------------------------------------------------------------------------------------
def protect_cells(
    members: Sequence[np.ndarray],
    counts: np.ndarray,
    min_cell: int,
    *,
    primary: np.ndarray | None = None,
    sensitive: Sequence[np.ndarray] = (),
    partitions: Sequence[Partition] = (),
    keys: Sequence[Hashable] | None = None,
    forced: np.ndarray | None = None,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Primary and secondary suppression of counts that are sums of inner cells.

    Parameters
    ----------
    members
        For each published cell, the indices of the inner cells it sums.
    counts
        Persons in each inner cell.
    min_cell
        Counts of 1 to ``min_cell - 1`` are primary; at the end no hidden cell and no
        ``sensitive`` count can be narrowed to a disclosive interval
        (:func:`pipeline.publish.audit.disclosive`).
    primary
        Further cells to hide (e.g. nested counts with a small difference to their parent).
    sensitive
        Counts that are not cells but must be protected like primary cells, each as the indices
        of its inner cells (e.g. followed but not converted).
    partitions
        ``(cell, parts, remainders)``: a cell whose persons are split exactly into the cells
        ``parts`` and unpublished remainders of the given sizes (a margin and the rows of a
        finer table; a parent and its nested child, with the difference as the remainder).
        Used for a quick first fix (below); the LP check is the one that counts, so leaving
        them out only makes protection slower.
    keys
        Inner-cell keys for the audit (default: positions).
    forced
        Cells published whatever they are (numbers that are public anyway, such as advertised
        posts, which bound the counts inside them): never suppressed, but part of what a
        reader knows. When they alone narrow a count, a ValueError says so.
    names
        Cell names for that message.

    Returns
    -------
    ndarray of bool
        Suppressed cells. Deterministic: the same input gives the same pattern.

    Notes
    -----
    After the Gaussian elimination (:func:`gauss_suppression`) two fixes follow. A quick one
    for the commonest failure, hidden parts of a published margin whose sum is small (two
    hidden cells of 3 and 2 beside a published total are both known to be 1 to 4):
    :func:`_small_sums`. Then the LP check of every hidden cell and sensitive count, which is
    the one that counts (:func:`_widen`).
    """
    counts = np.asarray(counts, dtype=np.int64)
    keys = list(range(len(counts))) if keys is None else list(keys)
    values = np.array([counts[m].sum() for m in members], dtype=np.int64)
    forced = np.zeros(len(members), bool) if forced is None else np.asarray(forced, bool)
    small = (values > 0) & (values < min_cell)
    primary = small if primary is None else small | (np.asarray(primary, bool) & (values > 0))
    primary &= ~forced
    sensitive = [s for s in sensitive if counts[s].sum() > 0]

    # Inner cells of a published zero are known to be zero: they drop out of the algebra.
    known_zero = np.zeros(len(counts), dtype=bool)
    for m, v in zip(members, values, strict=True):
        if v == 0:
            known_zero[m] = True
    rows = np.flatnonzero(~known_zero)
    position = np.full(len(counts), -1)
    position[rows] = np.arange(len(rows))

    def column(m: np.ndarray) -> np.ndarray:
        out = np.zeros(len(rows))
        p = position[m]
        out[p[p >= 0]] = 1.0
        return out

    x = np.column_stack([column(m) for m in members]) if members else np.zeros((len(rows), 0))
    extra = np.column_stack([column(s) for s in sensitive]) if sensitive else None
    # Prefer publishing large counts, then cells that sum many inner cells (totals); zeros and
    # primary cells are not candidates. The sort is stable, so ties keep the input order.
    sizes = np.array([len(m) for m in members])
    candidates = [
        j
        for j in sorted(range(len(members)), key=lambda j: (-values[j], -sizes[j], j))
        if values[j] > 0 and not primary[j] and not forced[j]
    ]
    suppressed = gauss_suppression(x, primary, candidates, extra)
    # Forced cells are never picked below: they count as zeros (nothing to hide).
    hideable = np.where(forced, 0, values)
    _small_sums(values, hideable, suppressed, partitions, min_cell)
    names = [f"cell {j}" for j in range(len(members))] if names is None else list(names)
    return _widen(members, values, hideable, suppressed, sensitive, keys, names, min_cell)


def _small_sums(
    values: np.ndarray,
    hideable: np.ndarray,
    suppressed: np.ndarray,
    partitions: Sequence[Partition],
    min_cell: int,
) -> None:
    """Hide more cells around published margins whose hidden parts have a small known sum (in
    place). Hiding only ever adds uncertainty, so the elimination's guarantee still holds.

    A published margin split into published parts, ``k`` hidden cells (each at least 1) and
    unpublished remainders (at least 0) tells the reader the unknown total ``r``, so each
    unknown part lies within an interval of width at most ``r - k``; a lone hidden part without
    remainders is pinned. Either way, when that is narrower than ``min_cell``, the smallest
    published part is hidden too, or, when there is none, the margin.
    """
    changed = True
    while changed:
        changed = False
        for parent, parts, remainders in partitions:
            if suppressed[parent]:
                continue
            hidden = [q for q in parts if suppressed[q]]
            if not hidden:
                continue
            unknown = values[hidden].sum() + sum(remainders)
            pinned = len(hidden) == 1 and not any(remainders)
            if not pinned and unknown - len(hidden) >= min_cell:
                continue
            shown = [q for q in parts if not suppressed[q] and hideable[q] > 0]
            if not shown and hideable[parent] == 0:
                continue  # nothing may be hidden here; the LP check decides
            pick = min(shown, key=lambda q: (values[q], q)) if shown else parent
            suppressed[pick] = True
            changed = True


def _widen(
    members: Sequence[np.ndarray],
    values: np.ndarray,
    hideable: np.ndarray,
    suppressed: np.ndarray,
    sensitive: Sequence[np.ndarray],
    keys: Sequence[Hashable],
    names: Sequence[str],
    min_cell: int,
) -> np.ndarray:
    """Suppress more until the LP audit finds no hidden cell or sensitive count disclosive.

    One reader's polytope (:class:`~pipeline.publish.audit.Knowledge`) is kept throughout.
    All targets are checked once; then each disclosive target in turn hides the smallest
    published cell among those that bind its bounds (non-zero LP duals) until it is safe, and
    each cell so hidden joins the queue of targets. Hiding a cell only widens the polytope (its
    equation goes, and the bound "at least 1" it gets was implied by its value), so a target
    once safe stays safe, and the queue empties: at the latest when every non-zero cell is
    hidden.
    """
    suppressed = suppressed.copy()
    terms = [{keys[i]: 1.0 for i in m} for m in members]
    # Targets by internal name: the cell's position, or "s<i>" for a sensitive count.
    targets: dict[str, Mapping[Hashable, float]] = {
        f"s{i}": {keys[k]: 1.0 for k in s} for i, s in enumerate(sensitive)
    }
    targets |= {str(j): terms[j] for j in np.flatnonzero(suppressed)}
    cells = [
        Cell(str(j), terms[j], None if suppressed[j] else float(values[j]))
        for j in range(len(members))
    ]
    variables = [keys[i] for s in sensitive for i in s]
    knowledge = Knowledge(cells, variables=variables)
    failing = knowledge.narrow(targets, min_cell, exact=False)
    if failing and np.any((hideable == 0) & (values > 0)):
        # Numbers that are published whatever (forced) may pin a count by themselves; then no
        # suppression helps, and the caller must publish less.
        bare = [
            Cell(c.name, c.terms, c.value if hideable[j] == 0 else None)
            for j, c in enumerate(cells)
        ]
        stuck = Knowledge(bare, variables=variables).narrow(
            {n: targets[n] for n in failing}, min_cell
        )
        if stuck:
            what = ", ".join(
                f"{names[int(n)] if n.isdigit() else 'a sensitive difference'} "
                f"({r.low:g} to {r.high:g})"
                for n, r in stuck.items()
            )
            raise ValueError(
                f"the numbers published in full narrow these counts whatever is hidden: {what}"
            )
    queue = [name for name in targets if name in failing]
    while queue:
        name = queue.pop(0)
        found = knowledge.narrow({name: targets[name]}, min_cell, exact=False)
        while name in found:
            choices = [j for j in found[name].binding if hideable[j] > 0 and not suppressed[j]]
            if not choices:
                choices = _neighbours(members, hideable, suppressed, targets[name], keys)
            if not choices:
                # Cannot happen while the data are consistent: hiding everything is safe.
                raise RuntimeError("cannot protect a cell: every non-zero cell is hidden")
            j = min(choices, key=lambda j: (values[j], len(members[j]), j))
            suppressed[j] = True
            knowledge.hide(j)
            targets[str(j)] = terms[j]
            queue.append(str(j))
            found = knowledge.narrow({name: targets[name]}, min_cell, exact=False)
    return suppressed


def _neighbours(
    members: Sequence[np.ndarray],
    values: np.ndarray,
    suppressed: np.ndarray,
    target: Mapping[Hashable, float],
    keys: Sequence[Hashable],
) -> list[int]:
    """Published non-zero cells sharing inner cells with the target, else with a hidden cell
    that does, else any (when no LP dual points at a cell, e.g. under degeneracy)."""
    reach = np.array([k in target for k in keys])
    shown = [j for j in range(len(members)) if not suppressed[j] and values[j] > 0]
    for _ in range(2):
        near = [j for j in shown if reach[members[j]].any()]
        if near:
            return near
        for j in np.flatnonzero(suppressed):
            if reach[members[j]].any():
                reach[members[j]] = True
    return shown


# --------------------------------------------------------------------------------------------
# Linked tables from microdata
# --------------------------------------------------------------------------------------------
class LinkedTables:
    """Counts from one microdata frame, published as several marginal tables, protected together.

    Parameters
    ----------
    microdata
        One row per person.
    dims
        Grouping columns; every table groups by some of them. Their observed levels span the
        inner cells (zeros included: a reader does not know which combinations are empty).
    measures
        Published measure -> boolean column of ``microdata`` (None: every row counts), e.g.
        ``{"i_starts": None, "completed_i": "completed_i", "followed": "full_followup",
        "h_within_horizon": "h_within_horizon"}``.
    min_cell
        The disclosure threshold (``params.yaml: report.min_cell``).
    nested
        Child measure -> parent measure, for every child that counts a subset of its parent's
        persons, e.g. ``{"h_within_horizon": "followed", "followed": "i_starts",
        "completed_i": "i_starts"}``. A reader knows these inclusions, so they shape the inner
        cells; and the difference (parent minus child, also along chains) counts persons, so a
        small one is protected like a small cell. The child's column must hold only persons of
        the parent: the funnel counts H-posts within the horizon among the fully followed, so
        pass ``h_within_horizon & full_followup``, not ``h_within_horizon``.

    Examples
    --------
    >>> tables = LinkedTables(doctors, ["cohort", "region"], measures, 5, nested)
    >>> tables.add("funnel_cohort", ["cohort"])
    >>> tables.add("funnel_region", ["region"])
    >>> tables.add("funnel_total", [])
    >>> shown = tables.protect()  # {"funnel_cohort": DataFrame, ...}
    >>> audit(tables.cells(), sensitive=tables.sensitive())
    []
    """

    def __init__(
        self,
        microdata: pd.DataFrame,
        dims: Sequence[str],
        measures: Mapping[str, str | None],
        min_cell: int,
        nested: Mapping[str, str] | None = None,
    ) -> None:
        _check_min_cell(min_cell)
        self.dims, self.measures, self.min_cell = list(dims), dict(measures), int(min_cell)
        self.nested = dict(nested or {})
        for child, parent in self.nested.items():
            if child not in self.measures or parent not in self.measures:
                raise ValueError(f"nested: {child!r} -> {parent!r} names an unknown measure")
        flags = list(dict.fromkeys(c for c in self.measures.values() if c is not None))
        data = microdata[flags].astype(bool).to_numpy() if flags else np.zeros((len(microdata), 0))
        self._pairs = _ancestor_pairs(self.nested)
        categories = [
            combo
            for combo in itertools.product([False, True], repeat=len(flags))
            if self._consistent(dict(zip(flags, combo, strict=True)))
        ]
        # Each person's category: the flags as bits, looked up among the consistent ones.
        lookup = np.full(2 ** len(flags), -1, dtype=np.int64)
        for i, combo in enumerate(categories):
            lookup[sum(1 << b for b, on in enumerate(combo) if on)] = i
        person_category = lookup[data.astype(np.int64) @ (1 << np.arange(len(flags)))]
        if np.any(person_category < 0):
            raise ValueError(self._nesting_error(microdata))
        levels, codes = {}, []
        for dim in self.dims:
            level_list, code = _levels(microdata[dim])
            levels[dim] = level_list
            codes.append(code)
        shape = [len(levels[d]) for d in self.dims] + [len(categories)]
        grid = np.indices(shape).reshape(len(shape), -1).T  # every inner cell, C order
        flat = np.ravel_multi_index((*codes, person_category), shape) if len(microdata) else []
        counts = np.bincount(np.asarray(flat, dtype=np.int64), minlength=int(np.prod(shape)))
        labels = [
            "+".join(f for f, on in zip(flags, c, strict=True) if on) or "none" for c in categories
        ]
        member = {
            m: np.array([col is None or c[flags.index(col)] for c in categories])
            for m, col in self.measures.items()
        }
        self._engine = _Engine(
            dims=self.dims,
            levels=levels,
            dtypes={d: microdata[d].dtype for d in self.dims},
            codes=grid[:, :-1],
            category=grid[:, -1],
            category_labels=labels,
            counts=counts,
            measures=member,
            pairs=self._pairs,
            min_cell=self.min_cell,
        )

    def _nesting_error(self, microdata: pd.DataFrame) -> str:
        for child, parent in self._pairs:
            child_column, parent_column = self.measures[child], self.measures[parent]
            if child_column is None or parent_column is None:
                continue
            outside = microdata[child_column].astype(bool) & ~microdata[parent_column].astype(bool)
            if outside.any():
                return (
                    f"{int(outside.sum())} persons are counted in {child!r} but not in its "
                    f"parent {parent!r}: count the child among the parent's persons only "
                    f"(e.g. {child_column} & {parent_column}), or correct `nested`"
                )
        return "a person is in a nested measure but not in its parent; check `nested`"

    def _consistent(self, flag: Mapping[str, bool]) -> bool:
        def has(measure: str) -> bool:
            column = self.measures[measure]
            return True if column is None else flag[column]

        return all(has(parent) or not has(child) for child, parent in self._pairs)

    def add(self, name: str, by: Sequence[str]) -> None:
        """Register a table: one row per combination of ``by`` (empty: one total row), with
        every measure."""
        unknown = [b for b in by if b not in self.dims]
        if unknown:
            raise ValueError(f"table {name!r}: {unknown} are not among dims {self.dims}")
        self._engine.add(name, list(by))

    def protect(self) -> dict[str, pd.DataFrame]:
        """Every registered table, protected jointly.

        Returns
        -------
        dict of DataFrame
            By table name: the grouping columns, each measure as nullable ``Int64`` with
            ``<NA>`` where suppressed, and a boolean ``<measure>_suppressed`` per measure. Rows
            for every combination of the observed levels, zeros included (dropping the rows of
            zeros is safe: an absent row says the same).
        """
        return self._engine.protect()

    def cells(self) -> list[Cell]:
        """The published cells after :meth:`protect`, for the audit (hidden ones with value
        None). Inner-cell keys are ``(*dims values, outcome category)``."""
        return self._engine.cells()

    def sensitive(self) -> dict[str, dict[Hashable, float]]:
        """The nested differences that count 1 to ``min_cell - 1`` persons (name -> terms), which
        the audit must find protected as well."""
        return self._engine.sensitive()


class Protected(dict):
    """The frames ``protect_table`` returns, by name, with the published cells (``cells``) the
    report stage's audit checks."""

    cells: list[Cell]


def protect_table(
    df: pd.DataFrame,
    counts: Sequence[str],
    dims: Sequence[str],
    min_cell: int,
    margins: bool | Sequence[Sequence[str]] = True,
    within: Mapping[str, str] | None = None,
) -> Protected:
    """Protect a table of counts you hold only aggregated, together with its margins.

    The table's rows are the inner cells; each count column is protected on its own.

    Parameters
    ----------
    df
        One row per combination of ``dims`` (other columns are kept in the ``"table"`` frame).
    counts
        Count columns (numbers of persons).
    dims
        The grouping columns that identify a row.
    min_cell
        The disclosure threshold.
    margins
        True: the table and every marginal total (all subsets of ``dims``, down to the grand
        total); False: the table alone; or the groupings that are published, e.g.
        ``[["year", "post_type"], ["region", "post_type"]]`` when the finest table itself is
        not shown. Include ``dims`` to publish the table's rows.
    within
        Count -> a column published in full that bounds it row by row, e.g.
        ``{"filled": "advertised"}``: a reader who sees 4 posts advertised knows that at most 4
        were filled, so the bound is part of what is protected against. The bounding column is
        never suppressed (advertised posts are public) and its margins are returned too.

    Returns
    -------
    dict of DataFrame
        ``"table"`` (``df`` with hidden counts as ``<NA>`` and ``<count>_suppressed`` columns)
        when the rows are published, and one frame per margin, keyed by its grouping columns
        joined with ``","`` (``"total"`` for the grand total).
    """
    _check_min_cell(min_cell)
    dims, counts = list(dims), list(counts)
    if df.duplicated(dims).any():
        raise ValueError(f"protect_table: more than one row per combination of {dims}")
    if margins is True:
        groupings = [
            list(c) for k in range(len(dims), -1, -1) for c in itertools.combinations(dims, k)
        ]
    elif margins is False:
        groupings = [dims]
    else:
        groupings = [list(g) for g in margins]
    levels, codes = {}, []
    for dim in dims:
        level_list, code = _levels(df[dim])
        levels[dim] = level_list
        codes.append(code)
    within = dict(within or {})
    if set(within) - set(counts) or set(within.values()) & set(counts):
        raise ValueError("within: map counts to columns that are not counts themselves")
    # Inner cells: each row's counts, and for a bounded count the rest of its bound.
    labels = [*counts, *(f"{bound}-{count}" for count, bound in within.items())]
    values = [df[c].to_numpy(dtype=np.int64) for c in counts]
    values += [
        df[b].to_numpy(dtype=np.int64) - df[c].to_numpy(dtype=np.int64) for c, b in within.items()
    ]
    if any(np.any(v < 0) for v in values):
        raise ValueError(f"within: a count exceeds its bound in some row ({within})")
    measures = {c: np.array([label == c for label in labels]) for c in counts}
    for count, bound in within.items():
        measures[bound] = np.array([label in (count, f"{bound}-{count}") for label in labels])
    n, k = len(df), len(labels)
    engine = _Engine(
        dims=dims,
        levels=levels,
        dtypes={d: df[d].dtype for d in dims},
        codes=np.repeat(np.column_stack(codes) if dims else np.zeros((n, 0), int), k, axis=0),
        category=np.tile(np.arange(k), n),
        category_labels=labels,
        counts=np.column_stack(values).reshape(-1),
        measures=measures,
        pairs=[],
        min_cell=int(min_cell),
        public=list(within.values()),
    )
    for by in groupings:
        engine.add("table" if sorted(by) == sorted(dims) else (",".join(by) or TOTAL), by)
    out = Protected(engine.protect())
    out.cells = engine.cells()
    if "table" in out:
        shown = out["table"]
        order = engine.row_order("table", np.column_stack(codes) if dims else np.zeros((n, 0)))
        table = df.copy()
        for c in counts:
            table[c] = shown[c].array.take(order)
            table[c + SUPPRESSED] = shown[c + SUPPRESSED].to_numpy()[order]
        out["table"] = table
    return out


def mask_dependent(
    df: pd.DataFrame, counts: Sequence[str], dependent: Sequence[str]
) -> pd.DataFrame:
    """Blank shares, rates and intervals in every row where one of the row's counts is hidden.

    The rule: a share or interval is published only when its numerator, its denominator and
    their difference are all published (a small difference hides the nested count, so it is
    enough to look at the counts). Otherwise ``share × n`` or the width of the interval would
    give the hidden count back.
    """
    out = df.copy()
    hidden = out[list(counts)].isna().any(axis=1)
    for column in dependent:
        out[column] = out[column].where(~hidden)
    return out


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------
def _check_min_cell(min_cell: int) -> None:
    if int(min_cell) != min_cell or min_cell < 1:
        raise ValueError(f"min_cell must be a positive integer, not {min_cell!r}")


def _levels(series: pd.Series) -> tuple[list[Any], np.ndarray]:
    """Observed levels in their natural order (a categorical's order, else sorted) and codes."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        present = pd.unique(series.dropna())
        levels = [c for c in series.cat.categories if c in set(present)]
    else:
        levels = sorted(pd.unique(series.dropna()))
    if series.isna().any():
        raise ValueError(f"column {series.name!r} has missing values; give them a level")
    levels = [v.item() if isinstance(v, np.generic) else v for v in levels]
    codes = pd.Categorical(series, categories=levels).codes.astype(np.int64)
    return levels, codes


def _ancestor_pairs(nested: Mapping[str, str]) -> list[tuple[str, str]]:
    """(child, ancestor) for every nested measure and each measure above it."""
    pairs = []
    for child in nested:
        seen, parent = {child}, nested[child]
        while True:
            if parent in seen:
                raise ValueError(f"nested: {child!r} is its own ancestor")
            pairs.append((child, parent))
            seen.add(parent)
            if parent not in nested:
                break
            parent = nested[parent]
    return pairs


class _Engine:
    """Inner cells with their counts, the registered tables over them, and the protection."""

    def __init__(
        self,
        *,
        dims: list[str],
        levels: dict[str, list[Any]],
        dtypes: dict[str, Any],
        codes: np.ndarray,
        category: np.ndarray,
        category_labels: Sequence[str],
        counts: np.ndarray,
        measures: dict[str, np.ndarray],
        pairs: Sequence[tuple[str, str]],
        min_cell: int,
        public: Sequence[str] = (),
    ) -> None:
        self.public = set(public)  # measures published as they are (forced)
        self.dims, self.levels, self.dtypes = dims, levels, dtypes
        self.codes, self.category, self.counts = codes, category, np.asarray(counts, np.int64)
        self.measures, self.pairs, self.min_cell = measures, list(pairs), min_cell
        self.keys: list[Hashable] = [
            (*(levels[d][c] for d, c in zip(dims, row, strict=True)), category_labels[cat])
            for row, cat in zip(codes.tolist(), category.tolist(), strict=True)
        ]
        self.tables: dict[str, list[str]] = {}
        self.suppressed: np.ndarray | None = None

    def add(self, name: str, by: list[str]) -> None:
        if name in self.tables:
            raise ValueError(f"a table named {name!r} is already registered")
        self.tables[name] = by
        self.suppressed = None

    def _rows(self, by: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The table's rows (level codes, sorted in level order) and each inner cell's row."""
        sub = self.codes[:, [self.dims.index(b) for b in by]]
        if not by:
            return np.zeros((1, 0), dtype=np.int64), np.zeros(len(sub), dtype=np.int64)
        rows, row_of = np.unique(sub, axis=0, return_inverse=True)
        return rows, row_of.reshape(-1)

    def _build(self) -> None:
        """One cell per table × row × measure, and the small nested differences."""
        self.members: list[np.ndarray] = []
        self.names: list[str] = []
        self.layout: dict[str, tuple[np.ndarray, dict[str, list[int]]]] = {}
        extra_primary: list[int] = []
        all_grouped: dict[str, dict[str, list[np.ndarray]]] = {}
        self.sensitive_members: list[np.ndarray] = []
        self.sensitive_names: list[str] = []
        for name, by in self.tables.items():
            rows, row_of = self._rows(by)
            labels = [
                "|".join(str(self.levels[b][c]) for b, c in zip(by, r, strict=True)) or TOTAL
                for r in rows.tolist()
            ]
            per_measure: dict[str, list[int]] = {}
            grouped: dict[str, list[np.ndarray]] = {}
            for measure, in_measure in self.measures.items():
                inner = np.flatnonzero(in_measure[self.category])
                order = inner[np.argsort(row_of[inner], kind="stable")]
                bounds = np.searchsorted(row_of[order], np.arange(len(rows) + 1))
                grouped[measure] = [order[bounds[r] : bounds[r + 1]] for r in range(len(rows))]
                per_measure[measure] = list(range(len(self.members), len(self.members) + len(rows)))
                self.members += grouped[measure]
                self.names += [f"{name}:{label}:{measure}" for label in labels]
            for child, ancestor in self.pairs:
                for r, label in enumerate(labels):
                    diff = np.setdiff1d(grouped[ancestor][r], grouped[child][r])
                    value = self.counts[diff].sum()
                    if 0 < value < self.min_cell:
                        extra_primary.append(per_measure[child][r])
                        self.sensitive_members.append(diff)
                        self.sensitive_names.append(f"{name}:{label}:{ancestor}-{child}")
            self.layout[name] = (rows, per_measure)
            all_grouped[name] = grouped
        self.partitions = self._partitions(all_grouped)
        self.primary = np.zeros(len(self.members), dtype=bool)
        self.primary[extra_primary] = True

    def _partitions(self, grouped: dict[str, dict[str, list[np.ndarray]]]) -> list[Partition]:
        """Margins split by the rows of finer tables, and parents split by nested children."""
        out = []
        for coarse, by_c in self.tables.items():
            for fine, by_f in self.tables.items():
                if not set(by_c) < set(by_f):
                    continue
                rows_c, cells_c = self.layout[coarse]
                rows_f, cells_f = self.layout[fine]
                index = {tuple(r): i for i, r in enumerate(rows_c.tolist())}
                at = [by_f.index(b) for b in by_c]
                parent_of = [index[tuple(r)] for r in rows_f[:, at].tolist()]
                for measure in self.measures:
                    parts: list[list[int]] = [[] for _ in range(len(rows_c))]
                    for r, p in enumerate(parent_of):
                        parts[p].append(cells_f[measure][r])
                    out += [(cells_c[measure][p], parts[p], []) for p in range(len(rows_c))]
        for name, (_, cells) in self.layout.items():
            for child, ancestor in self.pairs:
                for r, (whole, part) in enumerate(
                    zip(grouped[name][ancestor], grouped[name][child], strict=True)
                ):
                    rest = int(self.counts[whole].sum() - self.counts[part].sum())
                    out.append((cells[ancestor][r], [cells[child][r]], [rest]))
        return out

    def protect(self) -> dict[str, pd.DataFrame]:
        if not self.tables:
            raise ValueError("register tables with add() before protect()")
        self._build()
        self.suppressed = protect_cells(
            self.members,
            self.counts,
            self.min_cell,
            primary=self.primary,
            sensitive=self.sensitive_members,
            partitions=self.partitions,
            keys=self.keys,
            forced=np.array([n.rsplit(":", 1)[1] in self.public for n in self.names], bool),
            names=self.names,
        )
        values = np.array([self.counts[m].sum() for m in self.members], dtype=np.int64)
        out = {}
        for name, by in self.tables.items():
            rows, per_measure = self.layout[name]
            frame = pd.DataFrame(
                {b: self._column(b, rows[:, i]) for i, b in enumerate(by)},
                index=pd.RangeIndex(len(rows)),
            )
            for measure, cells in per_measure.items():
                hidden = self.suppressed[cells]
                frame[measure] = pd.array(values[cells], dtype="Int64")
                frame.loc[hidden, measure] = pd.NA
            for measure, cells in per_measure.items():
                frame[measure + SUPPRESSED] = self.suppressed[cells]
            out[name] = frame
        return out

    def _column(self, dim: str, codes: np.ndarray) -> pd.Series:
        """A grouping column in the input's dtype (categories keep their order)."""
        values = pd.Series([self.levels[dim][c] for c in codes.tolist()], dtype=object)
        dtype = self.dtypes[dim]
        if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(dtype):
            return values.astype(dtype)
        return values

    def _require(self) -> np.ndarray:
        if self.suppressed is None:
            raise ValueError("call protect() first")
        return self.suppressed

    def cells(self) -> list[Cell]:
        suppressed = self._require()
        return [
            Cell(
                name, {self.keys[i]: 1.0 for i in m}, None if hide else float(self.counts[m].sum())
            )
            for name, m, hide in zip(self.names, self.members, suppressed, strict=True)
        ]

    def sensitive(self) -> dict[str, dict[Hashable, float]]:
        self._require()
        return {
            name: {self.keys[i]: 1.0 for i in m}
            for name, m in zip(self.sensitive_names, self.sensitive_members, strict=True)
        }

    def row_order(self, name: str, codes: np.ndarray) -> np.ndarray:
        """For each row of a frame with these level codes, its row in table ``name``."""
        rows, _ = self.layout[name]
        by = self.tables[name]
        position = {tuple(r): i for i, r in enumerate(rows.tolist())}
        sub = np.asarray(codes)[:, [self.dims.index(b) for b in by]]
        return np.array([position[tuple(r)] for r in sub.tolist()], dtype=np.int64)
