"""A filter on many values passed as one parameter, for the bulk reads of a sync or pass.

`IN (%s, %s, …)` with a thousand values costs Django a placeholder and a
preparation per value, psycopg a statement it re-parses (it caches only
statements under 4 KiB) and PostgreSQL a thousand constants to parse and
plan: 8-10 ms for the 1,000 keys of a batch, against 5-6 ms as one array.
`Among` sends the values as one parameter: an array on PostgreSQL (`= ANY`),
JSON on SQLite (`json_each`), so the text of the statement never depends on
how many there are.
"""

import json
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, F
from django.db.models.sql.compiler import SQLCompiler


class Among(Expression):
    """True where the field (a name as in `filter()`, joins and annotations
    included) equals one of `values`; use it as `queryset.filter(Among(…))`."""

    conditional = True

    def __init__(self, field: str, values: Iterable[Any]) -> None:
        super().__init__(output_field=BooleanField())
        self.lhs: Any = F(field)
        self.values = list(values)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.lhs!r}, {len(self.values)} values)"

    def get_source_expressions(self) -> list[Any]:
        return [self.lhs]

    def set_source_expressions(self, expressions: list[Any]) -> None:
        [self.lhs] = expressions

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        if not self.values:
            # As for an empty __in: the query matches nothing and is not run.
            raise EmptyResultSet
        column, params = compiler.compile(self.lhs)
        target = self.lhs.output_field
        # Keys and text, most of what a sync filters on, need no preparation.
        values = [
            value
            if type(value) in (int, str)
            else target.get_db_prep_value(value, connection, prepared=False)
            for value in self.values
        ]
        if connection.vendor == "postgresql":
            # Typed as the column, or PostgreSQL may pick a type its index does not serve.
            return f"{column} = ANY(%s::{target.cast_db_type(connection)}[])", [*params, values]
        # The column is compiled SQL and the values a parameter.
        among = f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608
        return among, [*params, json.dumps(values)]
