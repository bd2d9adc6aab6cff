"""Reads whose SQL Django builds and compiles once per shape (``PreparedQuery``).

Shared infrastructure: the group and journey selectors, the live event numbers and the
session store (supportgroup/session_store.py) use it for their hottest reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators


@dataclass(frozen=True)
class _Slot:
    name: str


@dataclass
class _Compiled:
    sql: str | None  # None: the shape matches no row (``EmptyResultSet``)
    params: tuple
    compiler: Any = None
    converters: dict | None = None
    db: str = "default"


class PreparedQuery:
    """A read whose SQL Django builds and compiles once per shape, then runs with each
    call's values: for the hottest pages, where compiling the same query on every request
    cost more than running it.

    ``build(shape, **values)`` returns the queryset (with ``select_related`` and
    annotations, or ``values_list()``; no ``prefetch_related`` or ``extra()``).
    It is called once per ``shape`` (everything that changes the SQL's text: which
    filters apply, a role, a page size) with a stand-in for each value (ints for
    ``ints``, strings for ``strings``), each distinct, which must reach the compiled query
    as parameters of their own, unchanged (never written into its text); later calls put
    their own values in those places. The rows
    become objects as ``ModelIterable`` makes them (same fields, related objects and
    annotations), or tuples for a ``values_list()`` query (``run_values``); one query,
    through Django's cursor (counted and logged like any other).
    """

    _INT_BASE = 2_147_000_000  # within a 32-bit integer column's range: compared, not cut

    def __init__(
        self,
        model: type[Model],
        build: Callable[..., QuerySet],
        *,
        ints: tuple[str, ...] = (),
        strings: tuple[str, ...] = (),
    ) -> None:
        self._model, self._build = model, build
        self._stand_ins: dict[str, Any] = {
            name: self._INT_BASE + i for i, name in enumerate(ints, start=1)
        } | {name: f"\x1fprepared:{name}\x1f" for name in strings}
        self._compiled: dict[Hashable, _Compiled] = {}
        self._lock = threading.Lock()

    def _compile(self, shape: Hashable) -> _Compiled:
        qs = self._build(shape, **self._stand_ins)
        compiler = qs.query.get_compiler(using=qs.db)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:
            return _Compiled(sql=None, params=(), db=qs.db)
        names = {value: name for name, value in self._stand_ins.items()}
        slots = tuple(
            _Slot(names[p]) if isinstance(p, Hashable) and p in names else p for p in params
        )
        if any(str(v) in sql for v in self._stand_ins.values()):
            # A value that is not a parameter of its own (written into the SQL, or
            # transformed on the way): this query cannot be prepared this way.
            raise ValueError(f"PreparedQuery: values {sorted(self._stand_ins)} became {params!r}")
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        return _Compiled(
            sql=sql,
            params=slots,
            compiler=compiler,
            converters=compiler.get_converters(fields),
            db=qs.db,
        )

    def _fetch(self, shape: Hashable, values: dict[str, Any]) -> tuple[_Compiled, list]:
        alias = router.db_for_read(self._model)
        key = (alias, connections[alias].vendor, shape)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(shape)
            with self._lock:
                self._compiled[key] = compiled
        if compiled.sql is None:
            return compiled, []
        params = tuple(values[p.name] if isinstance(p, _Slot) else p for p in compiled.params)
        with connections[compiled.db].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return compiled, _converted(compiled, rows)

    def run(self, shape: Hashable, **values: Any) -> list[Model]:
        """The objects the queryset would give."""
        compiled, rows = self._fetch(shape, values)
        return _objects(compiled, rows) if rows else []

    def run_values(self, shape: Hashable, **values: Any) -> list[tuple]:
        """The rows a ``values_list()`` queryset would give."""
        return [tuple(row) for row in self._fetch(shape, values)[1]]


def _converted(compiled: _Compiled, rows: list) -> list:
    """``SQLCompiler.apply_converters`` (the database values as the fields read them)."""
    if not compiled.converters:
        return rows
    connection, converters = connections[compiled.db], list(compiled.converters.items())
    rows = [list(row) for row in rows]
    for row in rows:
        for pos, (convs, expression) in converters:
            value = row[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            row[pos] = value
    return rows


def _objects(compiled: _Compiled, rows: list) -> list[Model]:
    """``ModelIterable.__iter__`` for rows fetched and converted already."""
    compiler = compiled.compiler
    select, klass_info = compiler.select, compiler.klass_info
    annotation_col_map = compiler.annotation_col_map
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    related_populators = get_related_populators(klass_info, select, compiled.db)
    objects = []
    for row in rows:
        obj = model_cls.from_db(compiled.db, init_list, row[start:end])
        for populator in related_populators:
            populator.populate(row, obj)
        for attr_name, col_pos in (annotation_col_map or {}).items():
            setattr(obj, attr_name, row[col_pos])
        objects.append(obj)
    return objects
