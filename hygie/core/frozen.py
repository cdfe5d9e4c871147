"""Querysets compiled by the ORM once per process, then run with each call's values.

For the hottest reads of a page (hygie.access.records.get_patient, on every record page), the
ORM spent more processor time building and compiling the query (filters, sub-selects,
annotations: ~2 ms) than the database spent running it. `queryset(build, *args)` calls
`build(*args)` with stand-in values the first time a shape is met, keeps the SQL the ORM
compiled and where each argument landed among its parameters, and from then on hands out a
queryset that runs that same SQL with the real values: the same rows, the same model instances,
the same conversions (the compiler's state is the one the ORM computed for that SQL).

What makes it safe rather than merely fast:
- the shape is compiled twice, with two different sets of stand-ins: the SQL must be identical
  and every parameter that differs between the two must be one of the arguments, as given
  (a parameter computed from an argument, or SQL that depends on one, is refused at once);
- `build` only hands its arguments to the ORM as values: no branch on them, nothing computed
  from them (pass what it needs already computed, e.g. a cutoff rather than "now"). Lists of
  ids are expanded, their length is part of the shape. Keyword `options` name everything else
  the SQL depends on (a role's branch, the extra reads of a page);
- the test suite sets HYGIE_FROZEN_CHECK=1 (tests/_env.py): every call then also builds and
  compiles the query afresh with the real values and fails unless the SQL and the parameters are
  exactly those the frozen query runs;
- a frozen queryset cannot be chained (filter, slice, order, first(), exists()…): that raises,
  rather than running the frozen SQL for a different query. Iterate it, or `list()` it.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connections
from django.db.models import QuerySet
from django.db.models.sql import Query

CHECK = os.environ.get("HYGIE_FROZEN_CHECK") == "1"

# The compiler attributes that belong to one compiler object, not to the compiled query.
_OWN = frozenset({"query", "connection", "using", "elide_empty"})
_MAX_SHAPES = 512


class _Frozen(NamedTuple):
    queryset: QuerySet[Any]  # built with the first stand-ins: its query's structure is reused
    sql: str
    template: list[tuple[str, Any]]  # per parameter: ("arg", i), ("str", i) or ("value", constant)
    state: dict[str, Any]  # the compiler's attributes once it compiled that SQL


_SHAPES: dict[tuple[Any, ...], _Frozen] = {}


def _stand_in(generation: int, i: int, value: Any) -> Any:
    """Stand-in number `i` of one of the two generations (0, 1): of the argument's kind, and a
    value no real argument has (negative ids, dates of 1901/1902, a marked UUID or text)."""
    if isinstance(value, datetime):
        return datetime(1901 + generation, 2, 3, 4, 5, 6, 700_000 + i, tzinfo=UTC)
    if isinstance(value, date):
        return date(1901 + generation, 2, 3) + timedelta(days=i)
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=((0xA5A5 + generation) << 112) + i)
    if isinstance(value, int) and not isinstance(value, bool):
        return -7_000_000_000 - generation * 1_000_000 - i
    if isinstance(value, str):
        return f"\x1fhygie-frozen-{generation}-{i}\x1f"
    raise TypeError(f"frozen: argument {i} must be a datetime, a date, a UUID, an int, a str or a list of ints")


def _flatten(args: tuple[Any, ...]) -> tuple[list[Any], tuple[Any, ...]]:
    """The scalar values of `args` (lists expanded) and the shape (kinds, list lengths)."""
    flat: list[Any] = []
    shape: list[Any] = []
    for arg in args:
        if isinstance(arg, list | tuple):
            flat.extend(arg)
            shape.append(len(arg))
        else:
            flat.append(arg)
            shape.append(type(arg).__name__)
    return flat, tuple(shape)


def _unflatten(args: tuple[Any, ...], flat: list[Any]) -> list[Any]:
    out: list[Any] = []
    it = iter(flat)
    for arg in args:
        out.append([next(it) for _ in arg] if isinstance(arg, list | tuple) else next(it))
    return out


def _adapt(connection: Any, value: Any) -> Any:
    """A value as the compiler passes it to the driver for a field of its kind."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    if isinstance(value, uuid.UUID):
        return value if connection.features.has_native_uuid_field else value.hex
    return value


def _compile(queryset: QuerySet[Any]) -> tuple[str, tuple[Any, ...], Any]:
    compiler = queryset.query.get_compiler(queryset.db)
    sql, params = compiler.as_sql()
    return sql, tuple(params), compiler


def _freeze(build: Callable[..., QuerySet[Any]], args: tuple[Any, ...], flat: list[Any]) -> _Frozen:
    stand_ins = [[_stand_in(g, i, v) for i, v in enumerate(flat)] for g in (0, 1)]
    first = build(*_unflatten(args, stand_ins[0]))
    sql, params, compiler = _compile(first)
    sql_b, params_b, _ = _compile(build(*_unflatten(args, stand_ins[1])))
    name = getattr(getattr(build, "func", build), "__qualname__", repr(build))
    if sql != sql_b or len(params) != len(params_b):
        raise ValueError(f"frozen: the SQL of {name} depends on its arguments' values")
    connection = connections[first.db]
    adapted = [[_adapt(connection, v) for v in gen] for gen in stand_ins]
    template: list[tuple[str, Any]] = []
    for a, b in zip(params, params_b, strict=True):
        slot = next((("arg", j) for j in range(len(flat))
                     if type(a) is type(adapted[0][j]) and a == adapted[0][j] and b == adapted[1][j]), None)
        if slot is None:
            slot = next((("str", j) for j in range(len(flat)) if isinstance(flat[j], int)
                         and a == str(stand_ins[0][j]) and b == str(stand_ins[1][j])), None)
        if slot is None:
            if a != b or any(a == s for gen in adapted for s in gen):
                raise ValueError(f"frozen: {name} computes a parameter from its arguments")
            slot = ("value", a)
        template.append(slot)
    state = {k: v for k, v in compiler.__dict__.items() if k not in _OWN}
    return _Frozen(first, sql, template, state)


class _FrozenQuery(Query):
    """The compiled query of a shape, with one call's parameters: compiles to the frozen SQL."""

    frozen: tuple[_Frozen, tuple[Any, ...]]

    def get_compiler(self, using: Any = None, connection: Any = None, elide_empty: bool = True) -> Any:
        compiler = super().get_compiler(using, connection, elide_empty)
        shape, params = self.frozen
        compiler.__dict__.update(shape.state)

        def as_sql(with_limits: bool = True, with_col_aliases: bool = False) -> tuple[str, tuple[Any, ...]]:
            if not with_limits or with_col_aliases:
                raise TypeError("frozen: this query runs only as compiled")
            return shape.sql, params

        compiler.as_sql = as_sql
        return compiler

    def chain(self, klass: Any = None) -> Any:
        raise TypeError("frozen: a frozen queryset cannot be changed; iterate it")

    def clone(self) -> Any:
        raise TypeError("frozen: a frozen queryset cannot be changed; iterate it")


def queryset(build: Callable[..., QuerySet[Any]], *args: Any, **options: Any) -> QuerySet[Any]:
    """`build(*args, **options)`, compiled once per shape: (build, options, database, kinds of
    the arguments and lengths of the lists). `build` is a module-level function; `args` are
    datetimes, dates, UUIDs, ints, strs or lists of ints, handed to the ORM unchanged; `options`
    (hashable) choose among the shapes of SQL it builds."""
    flat, shape_of_args = _flatten(args)
    key = (build, tuple(sorted(options.items())), shape_of_args, connections["default"].vendor)
    shape = _SHAPES.get(key)
    if shape is None:
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()  # a bound, should a caller ever vary its variants without end
        shape = _SHAPES[key] = _freeze(functools.partial(build, **options), args, flat)
    template = shape.queryset
    connection = connections[template.db]
    real = [_adapt(connection, v) for v in flat]
    params = tuple(real[v] if kind == "arg" else str(flat[v]) if kind == "str" else v for kind, v in shape.template)
    query = _FrozenQuery.__new__(_FrozenQuery)
    query.__dict__.update(template.query.__dict__)
    query.frozen = (shape, params)
    out = template.__class__.__new__(template.__class__)
    out.__dict__.update(template.__dict__)
    out.__dict__["_query"] = query
    if CHECK:
        fresh_sql, fresh_params, _ = _compile(build(*args, **options))
        if (fresh_sql, fresh_params) != (shape.sql, params):
            raise AssertionError(f"frozen: {build.__qualname__} ran other SQL than the ORM builds now")
    return out
