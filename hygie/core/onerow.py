"""Several independent reads in one round trip: `SELECT (sub-select), (sub-select), …` with no
FROM (PostgreSQL and SQLite both accept it). Each value is converted as its expression's
output field (dates, JSON), as the ORM would convert it in a query of its own.

For pages that read many small things (the dashboard: counts, the last event of a kind, the
last run of a backup): one statement instead of one each. A sub-select must be a scalar one
(one column, at most one row: `[:1]`, or a count); a missing row reads as None.
"""

from __future__ import annotations

from collections.abc import Callable
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


_FROZEN: dict[tuple[Callable[[], dict[str, BaseExpression]], str], dict[str, BaseExpression]] = {}


def frozen(build: Callable[[], dict[str, BaseExpression]]) -> dict[str, BaseExpression]:
    """`build()`'s expressions compiled once per process (and database vendor), then reused as
    raw SQL with the same parameters and output fields: for reads that depend on no value of
    the moment (no user, no date), whose compilation by the ORM costs more CPU than their
    execution (the backups' nested sub-selects: about 10 ms a page)."""
    key = (build, connections[DEFAULT_DB_ALIAS].vendor)
    found = _FROZEN.get(key)
    if found is None:
        query = Query(None)
        compiler = query.get_compiler(DEFAULT_DB_ALIAS)
        found = {}
        for name, expression in build().items():
            resolved = expression.resolve_expression(query, allow_joins=True, reuse=None, summarize=False)
            sql, params = compiler.compile(resolved)
            # The ORM's own SQL for a queryset, its parameters still apart: nothing user-given.
            found[name] = RawSQL(sql, tuple(params), output_field=resolved.output_field)  # noqa: S611
        _FROZEN[key] = found
    return dict(found)
