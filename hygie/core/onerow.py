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
from django.db.models import IntegerField, QuerySet, Subquery, Value
from django.db.models.expressions import BaseExpression, RawSQL
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
    """Evaluate every expression of `values` in one statement; the same keys, their values.

    When every value is compiled already (the raw SQL of `frozen` and of
    hygie.core.frozen.expressions, or a constant `Value`), the statement is compiled by the ORM
    once per combination and then run with this call's parameters (hygie.core.frozen.rerun):
    assembling and compiling some 25 sub-selects cost the dashboard ~0.8 ms a page."""
    if not values:
        return {}
    key = _shape(values)
    if key is None:
        query = _query(values)
        return _row(query, query.get_compiler(DEFAULT_DB_ALIAS))
    params = tuple(p for expression in values.values()
                   for p in (expression.params if type(expression) is RawSQL else (expression.value,)))
    compiled = _COMPILED.get(key)
    if compiled is None:
        query = _query(values)
        compiler = query.get_compiler(DEFAULT_DB_ALIAS)
        sql, compiled_params = compiler.as_sql()
        if tuple(compiled_params) != params:  # the parameters are not where expected: no shortcut
            return _row(query, compiler)
        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.clear()
        compiled = _COMPILED[key] = _frozen.compiled(query, compiler, sql)
    if _frozen.CHECK:
        fresh_sql, fresh_params = _query(values).get_compiler(DEFAULT_DB_ALIAS).as_sql()
        if (fresh_sql, tuple(fresh_params)) != (compiled.sql, params):
            raise AssertionError("onerow: the compiled statement differs from what the ORM builds now")
    return _row(compiled.query, _frozen.rerun(compiled, params, DEFAULT_DB_ALIAS))


def _row(query: Query, compiler: Any) -> dict[str, Any]:
    row = next(iter(compiler.results_iter()))
    return dict(zip(query.annotation_select, row, strict=True))


_COMPILED: dict[tuple[Any, ...], _frozen.Compiled] = {}
_MAX_COMPILED = 512


def _query(values: dict[str, BaseExpression]) -> Query:
    query = Query(None)
    for name, expression in values.items():
        query.add_annotation(expression, name, select=True)
    return query


def _shape(values: dict[str, BaseExpression]) -> tuple[Any, ...] | None:
    """What the SQL of `values` depends on, when all are compiled already: names, raw SQL and
    output fields, constants (with their type); None otherwise."""
    shape: list[Any] = [DEFAULT_DB_ALIAS]
    for name, expression in values.items():
        if type(expression) is RawSQL:
            shape.append((name, expression.sql, len(expression.params), expression.output_field))
        elif type(expression) is Value and type(expression.value) in (bool, int):
            shape.append((name, "value", type(expression.value), expression.value,
                          type(expression._output_field_or_none)))
        else:
            return None
    return tuple(shape)


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
