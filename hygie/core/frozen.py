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

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
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
    converters: dict[Any, Any]  # per connection: the converters of its columns (_converters)


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
    template = _slots(name, params, params_b, flat, stand_ins, connections[first.db])
    state = {k: v for k, v in compiler.__dict__.items() if k not in _OWN}
    return _Frozen(first, sql, template, state, {})


def _slots(name: str, params: tuple[Any, ...], params_b: tuple[Any, ...], flat: list[Any],
           stand_ins: list[list[Any]], connection: Any) -> list[tuple[str, Any]]:
    """Where each argument lands among the parameters, from the two compilations: ("arg", i),
    ("str", i) (an int compared as text) or ("value", constant). A parameter that differs between
    the two and is no argument as given was computed from one: refused."""
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
                raise ValueError(f"frozen: {name} computes a parameter from its arguments "
                                 "(it does not pass every argument as given)")
            slot = ("value", a)
        template.append(slot)
    return template


def _fill(template: list[tuple[str, Any]], flat: list[Any], connection: Any) -> tuple[Any, ...]:
    real = [_adapt(connection, v) for v in flat]
    return tuple(real[v] if kind == "arg" else str(flat[v]) if kind == "str" else v for kind, v in template)


def _converters(compiler: Any, known: dict[Any, Any], expressions: list[Any]) -> Any:
    """The compiler's get_converters, remembered per shape and connection: the columns of a
    frozen query are the same objects at every run, and the ORM spent ~40 µs a query working
    out again which conversions they need (the connection is kept with its answer, so a
    connection closed and replaced is asked afresh)."""
    key = (id(compiler.connection), tuple(map(id, expressions)))
    found = known.get(key)
    if found is None or found[0] is not compiler.connection:
        if len(known) >= 64:  # threads come and go (tests): a bound, not a leak
            known.clear()
        found = known[key] = (compiler.connection, type(compiler).get_converters(compiler, expressions))
    return found[1]


class _FrozenQuery(Query):
    """The compiled query of a shape, with one call's parameters: compiles to the frozen SQL."""

    frozen: tuple[_Frozen | Compiled, tuple[Any, ...]]

    def get_compiler(self, using: Any = None, connection: Any = None, elide_empty: bool = True) -> Any:
        compiler = super().get_compiler(using, connection, elide_empty)
        shape, params = self.frozen
        compiler.__dict__.update(shape.state)

        def as_sql(with_limits: bool = True, with_col_aliases: bool = False) -> tuple[str, tuple[Any, ...]]:
            if not with_limits or with_col_aliases:
                raise TypeError("frozen: this query runs only as compiled")
            return shape.sql, params

        compiler.as_sql = as_sql
        compiler.get_converters = functools.partial(_converters, compiler, shape.converters)
        return compiler

    def chain(self, klass: Any = None) -> Any:
        raise TypeError("frozen: a frozen queryset cannot be changed; iterate it")

    def clone(self) -> Any:
        raise TypeError("frozen: a frozen queryset cannot be changed; iterate it")


class Compiled(NamedTuple):
    """A query the ORM compiled to `sql`, with its compiler's state: run again with other
    parameters by `rerun` (hygie.core.onerow's statements made of already compiled parts)."""

    query: Query
    sql: str
    state: dict[str, Any]
    converters: dict[Any, Any]


def compiled(query: Query, compiler: Any, sql: str) -> Compiled:
    return Compiled(query, sql, {k: v for k, v in compiler.__dict__.items() if k not in _OWN}, {})


def rerun(shape: Compiled, params: tuple[Any, ...], using: str) -> Any:
    """A compiler that runs `shape.sql` with `params`, converting the row as the ORM did."""
    query = _FrozenQuery.__new__(_FrozenQuery)
    query.__dict__.update(shape.query.__dict__)
    query.frozen = (shape, params)
    return query.get_compiler(using)


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
    params = _fill(shape.template, flat, connections[template.db])
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


# --- Scalar expressions, for one-statement reads (hygie.core.onerow.read) -----------------------

_EXPRESSIONS: dict[tuple[Any, ...], dict[str, tuple[str, list[tuple[str, Any]], Any]]] = {}


def _compile_expressions(values: dict[str, Any]) -> dict[str, tuple[str, tuple[Any, ...], Any]]:
    query = Query(None)
    compiler = query.get_compiler(DEFAULT_DB_ALIAS)
    out = {}
    for name, expression in values.items():
        resolved = expression.resolve_expression(query, allow_joins=True, reuse=None, summarize=False)
        sql, params = compiler.compile(resolved)
        out[name] = (sql, tuple(params), resolved.output_field)
    return out


def expressions(build: Callable[..., dict[str, Any]], *args: Any, all_arguments_used: bool = False,
                **options: Any) -> dict[str, RawSQL]:
    """`build(*args, **options)`'s scalar expressions (sub-selects, EXISTS, counts: what
    hygie.core.onerow.read reads in one statement), compiled once per shape like `queryset`'s,
    with the same checks; handed out as raw SQL with their output fields and this call's values.
    `all_arguments_used`: also refuse a build that leaves an argument out of its parameters."""
    flat, shape_of_args = _flatten(args)
    key = (build, tuple(sorted(options.items())), shape_of_args, connections[DEFAULT_DB_ALIAS].vendor)
    found = _EXPRESSIONS.get(key)
    name = build.__qualname__
    if found is None:
        stand_ins = [[_stand_in(g, i, v) for i, v in enumerate(flat)] for g in (0, 1)]
        first, second = (_compile_expressions(build(*_unflatten(args, gen), **options)) for gen in stand_ins)
        if list(first) != list(second) or any(first[k][0] != second[k][0] for k in first):
            raise ValueError(f"frozen: the SQL of {name} depends on its arguments' values")
        connection = connections[DEFAULT_DB_ALIAS]
        found = {k: (sql, _slots(name, params, second[k][1], flat, stand_ins, connection), field)
                 for k, (sql, params, field) in first.items()}
        used = {i for _sql, template, _field in found.values() for kind, i in template if kind != "value"}
        if all_arguments_used and used != set(range(len(flat))):
            raise ValueError(f"frozen: {name} does not pass every argument as a parameter")
        if len(_EXPRESSIONS) >= _MAX_SHAPES:
            _EXPRESSIONS.clear()
        _EXPRESSIONS[key] = found
    connection = connections[DEFAULT_DB_ALIAS]
    out = {k: (sql, _fill(template, flat, connection), field) for k, (sql, template, field) in found.items()}
    if CHECK:
        fresh = _compile_expressions(build(*args, **options))
        if {k: v[:2] for k, v in fresh.items()} != {k: v[:2] for k, v in out.items()}:
            raise AssertionError(f"frozen: {name} ran other SQL than the ORM builds now")
    # The ORM's own SQL, its parameters kept apart: nothing user-given.
    return {k: RawSQL(sql, params, output_field=field) for k, (sql, params, field) in out.items()}  # noqa: S611
