"""Several independent reads in one round trip: `SELECT (sub-select), (sub-select), …` with no
FROM (PostgreSQL and SQLite both accept it). Each value is converted as its expression's
output field (dates, JSON), as the ORM would convert it in a query of its own.

For pages that read many small things (the dashboard: counts, the last event of a kind, the
last run of a backup): one statement instead of one each. A sub-select must be a scalar one
(one column, at most one row: `[:1]`, or a count); a missing row reads as None.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import IntegerField, QuerySet, Subquery
from django.db.models.expressions import BaseExpression, RawSQL
from django.db.models.sql import Query


class CountOf(Subquery):
    """The number of rows of a queryset, as a scalar sub-select (what `.count()` returns)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) hygie_counted)"
    # A queryset known to be empty (`.none()`) is not sent: it counts 0, as `.count()` says.
    empty_result_set_value = 0

    def __init__(self, queryset: QuerySet[Any], **extra: Any) -> None:
        super().__init__(queryset.order_by(), output_field=IntegerField(), **extra)


def read(values: dict[str, BaseExpression]) -> dict[str, Any]:
    """Evaluate every expression of `values` in one statement; the same keys, their values."""
    if not values:
        return {}
    query = Query(None)
    for name, expression in values.items():
        query.add_annotation(expression, name, select=True)
    compiler = query.get_compiler(DEFAULT_DB_ALIAS)
    row = next(iter(compiler.results_iter()))
    return dict(zip(query.annotation_select, row, strict=True))


_FROZEN: dict[tuple[Any, str, str], dict[str, tuple[RawSQL, list[tuple[str, Any]]]]] = {}


def _sentinel(i: int, value: Any) -> Any:
    """A stand-in for argument `i` of a frozen build, of the same kind, that no real value is."""
    if isinstance(value, datetime):
        return datetime(1901, 2, 3, 4, 5, 6, 700_000 + i, tzinfo=UTC)
    if isinstance(value, date):
        return date(1901, 2, 3) + timedelta(days=i)
    if isinstance(value, int) and not isinstance(value, bool):
        return -7_000_000_000 - i
    raise TypeError(f"onerow.frozen: argument {i} must be a datetime, a date or an int")


def _adapt(value: Any) -> Any:
    """A value as the compiler passes it to the driver for a field of its kind."""
    ops = connections[DEFAULT_DB_ALIAS].ops
    if isinstance(value, datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return ops.adapt_datefield_value(value)
    return value


def frozen(build: Callable[..., dict[str, BaseExpression]], *args: Any, variant: str = "") -> dict[str, BaseExpression]:
    """`build(*args)`'s expressions, compiled by the ORM once per process (and database vendor),
    then reused as raw SQL with their output fields, the arguments' values put in place of
    stand-ins: for reads whose compilation costs more CPU than their execution (the backups'
    nested sub-selects: about 10 ms a page, 0.3 ms frozen).

    `args` (datetimes, dates, ints: the moment, a day, a user's id) must reach the SQL as
    parameters unchanged: `build` compares columns with them, computes nothing from them
    (pass `now - delta` computed, not `now`); an int may also be compared as its string. The
    SQL must not depend on them otherwise (no list whose length varies, no branch on them);
    `variant` names each shape of SQL a build has (a role's own filter, for instance)."""
    key = (build, variant, connections[DEFAULT_DB_ALIAS].vendor)
    found = _FROZEN.get(key)
    if found is None:
        stand_ins = [_sentinel(i, value) for i, value in enumerate(args)]
        adapted = [_adapt(v) for v in stand_ins]
        query = Query(None)
        compiler = query.get_compiler(DEFAULT_DB_ALIAS)
        found = {}
        used: set[int] = set()
        for name, expression in build(*stand_ins).items():
            resolved = expression.resolve_expression(query, allow_joins=True, reuse=None, summarize=False)
            sql, params = compiler.compile(resolved)
            template: list[tuple[str, Any]] = []
            for param in params:
                slot = next((("arg", i) for i, a in enumerate(adapted) if type(param) is type(a) and param == a), None)
                if slot is None:
                    slot = next((("str", i) for i, v in enumerate(stand_ins)
                                 if isinstance(v, int) and param == str(v)), ("value", param))
                if slot[0] != "value":
                    used.add(slot[1])
                template.append(slot)
            # The ORM's own SQL for a queryset, its parameters still apart: nothing user-given.
            found[name] = (RawSQL(sql, (), output_field=resolved.output_field), template)  # noqa: S611
        if used != set(range(len(args))):
            raise ValueError(f"onerow.frozen: {build.__qualname__} does not pass every argument as a parameter")
        _FROZEN[key] = found
    real = [_adapt(value) for value in args]
    out: dict[str, BaseExpression] = {}
    for name, (raw, template) in found.items():
        params = tuple(real[v] if kind == "arg" else str(args[v]) if kind == "str" else v for kind, v in template)
        out[name] = RawSQL(raw.sql, params, output_field=raw.output_field)  # noqa: S611
    return out
