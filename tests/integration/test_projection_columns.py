"""A read database made by an earlier version gains the columns added since, and keeps projecting."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, Table, inspect

from ledger import Ledger, Money
from projections import Projector, all_projections
from projections.db import make_engine
from projections.statement import wallet_statement
from tests.conftest import PG, T0

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgres"])
def read_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A read database URL on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'read.db'}"
    env = request.getfixturevalue("pg_env")
    return (f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{env['POSTGRES_DBNAME']}"
            f"?options=-csearch_path%3D{env['POSTGRES_SCHEMA']}")


def test_a_statement_table_without_descriptions_gains_the_column_and_describes_new_lines(read_url: str) -> None:
    engine = make_engine(read_url, pool_size=2)
    older = MetaData()
    Table(wallet_statement.name, older, *(Column(c.name, c.type, primary_key=c.primary_key)
                                          for c in wallet_statement.columns if c.name != "description"))
    older.create_all(engine)
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    try:
        ledger.purchase(user_id="ann", payment_id="p-1", pack_id="starter", amount=100, price=Money(900, "INR"),
                        at=T0)
        projector = Projector(ledger, engine, all_projections())
        projector.setup()
        assert "description" in {c["name"] for c in inspect(engine).get_columns(wallet_statement.name)}
        projector.catch_up()
        with engine.connect() as conn:
            described = [r.description for r in conn.execute(wallet_statement.select()
                                                             .order_by(wallet_statement.c.position))]
        assert described == ["Wallet opened", "Bought the starter pack for INR 9.00"]
    finally:
        ledger.close()
        engine.dispose()
