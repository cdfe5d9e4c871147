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

from django.db import DEFAULT_DB_ALIAS
from django.db.models import IntegerField, QuerySet, Subquery
from django.db.models.expressions import BaseExpression
from django.db.models.sql import Query

from hygie.core import frozen as _frozen


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


def frozen(build: Callable[..., dict[str, BaseExpression]], *args: Any) -> dict[str, BaseExpression]:
    """`build(*args)`'s expressions, compiled by the ORM once per process (and database vendor),
    then reused as raw SQL with their output fields, the arguments' values put in place of
    stand-ins: for reads whose compilation costs more CPU than their execution (the backups'
    nested sub-selects: about 10 ms a page, 0.3 ms frozen). hygie.core.frozen.expressions does
    it, with its checks; here every argument must also reach the SQL as a parameter.

    `args` (datetimes, dates, ints: the moment, a day, a user's id) must reach the SQL as
    parameters unchanged: `build` compares columns with them, computes nothing from them
    (pass `now - delta` computed, not `now`)."""
    return dict(_frozen.expressions(build, *args, all_arguments_used=True))
