"""`studio-ledger store backup` / `restore` refusing what they must: a target that holds data, a backup
file that is cut off, edited or not ours, a PostgreSQL server that is away. One line each, no traceback."""

from __future__ import annotations

import gzip
import io
import json
import socket
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from ledger import Ledger, Money
from service.settings import StoreSettings
from tests.conftest import PG, T0

pytestmark = pytest.mark.e2e


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    """`studio-ledger store ARGS`: exit code and output, which must be one line without a traceback on failure."""
    result = CliRunner().invoke(cli, ["store", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code:
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    return result.exit_code, result.output


def sqlite_store(folder: Path) -> dict[str, str]:
    """A SQLite store in ``folder`` with one purchase in it, and its settings."""
    env = {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(folder), "STUDIO_GROUP_COMMIT": "false"}
    ledger = Ledger(StoreSettings(backend="sqlite", data_dir=folder).event_store_env())
    ledger.purchase(user_id="ann", payment_id="p1", pack_id="starter", amount=100, price=Money(999, "USD"), at=T0)
    ledger.close()
    return env


@pytest.fixture
def backed_up(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A SQLite store and a good backup of it."""
    env = sqlite_store(tmp_path / "data")
    code, out = run(env, "backup", str(tmp_path / "good.backup"))
    assert code == 0, out
    return env, tmp_path / "good.backup"


def elsewhere(tmp_path: Path, name: str = "new") -> dict[str, str]:
    return {"STUDIO_STORE": "sqlite", "STUDIO_DATA_DIR": str(tmp_path / name), "STUDIO_GROUP_COMMIT": "false"}


def test_a_restore_over_a_store_that_holds_data_is_refused_unless_forced(
        backed_up: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, backup = backed_up
    code, out = run(env, "restore", str(backup))
    assert code == 1
    assert "already holds data" in out and "--force" in out
    code, out = run(env, "restore", str(backup), "--force")
    assert code == 0, out
    assert "ledger position 3" in out  # the purchase's events
    ledger = Ledger(StoreSettings(backend="sqlite", data_dir=Path(env["STUDIO_DATA_DIR"])).event_store_env())
    assert ledger.wallet("ann").available(T0) == 100  # type: ignore[union-attr]
    ledger.close()


def test_a_backup_never_overwrites_a_file_unless_forced(backed_up: tuple[dict[str, str], Path]) -> None:
    env, backup = backed_up
    before = backup.read_bytes()
    code, out = run(env, "backup", str(backup))
    assert code == 1
    assert "already exists" in out
    assert backup.read_bytes() == before
    assert run(env, "backup", str(backup), "--force")[0] == 0


def test_a_truncated_backup_is_refused_and_leaves_the_target_empty(
        backed_up: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    _, backup = backed_up
    cut = tmp_path / "cut.backup"
    cut.write_bytes(backup.read_bytes()[: backup.stat().st_size // 2])
    code, out = run(elsewhere(tmp_path), "restore", str(cut))
    assert code == 1
    assert "truncated or damaged" in out
    assert not (tmp_path / "new" / "events.db").exists()


def _tar(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def test_a_file_that_is_not_our_backup_is_refused(tmp_path: Path) -> None:
    foreign = {
        "text": b"hello, this is not a backup\n",
        "gzip": gzip.compress(b"just gzip"),
        "tar": _tar({"events.db": b"SQLite format 3\x00"}),
        "manifest": _tar({"manifest.json": json.dumps({"format": "something-else"}).encode()}),
    }
    for name, body in foreign.items():
        (tmp_path / name).write_bytes(body)
        code, out = run(elsewhere(tmp_path), "restore", str(tmp_path / name))
        assert code == 1, name
        assert "is not a studio-ledger backup" in out or "truncated or damaged" in out, (name, out)
    assert "not a studio-ledger backup" in run(elsewhere(tmp_path), "restore", str(tmp_path / "tar"))[1]
    assert "no backup file at" in run(elsewhere(tmp_path), "restore", str(tmp_path / "absent"))[1]


def test_an_edited_backup_fails_its_checksum(backed_up: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    _, backup = backed_up
    with tarfile.open(backup, "r:gz") as archive:
        entries = {m.name: archive.extractfile(m).read() for m in archive}  # type: ignore[union-attr]
    events = bytearray(entries["events.db"])
    events[len(events) // 2] ^= 0xFF  # one byte changed, as a bad disk or a hand would
    entries["events.db"] = bytes(events)
    (tmp_path / "edited.backup").write_bytes(_tar(entries))
    code, out = run(elsewhere(tmp_path), "restore", str(tmp_path / "edited.backup"))
    assert code == 1
    assert "events.db does not match the checksum" in out


def test_a_sqlite_backup_is_not_restored_into_postgres(
        backed_up: tuple[dict[str, str], Path], pg_env: dict[str, str]) -> None:
    _, backup = backed_up
    env = {"STUDIO_STORE": "postgres", "STUDIO_POSTGRES_DB": pg_env["POSTGRES_DBNAME"],
           "STUDIO_POSTGRES_SCHEMA": pg_env["POSTGRES_SCHEMA"], "STUDIO_POSTGRES_HOST": PG["host"],
           "STUDIO_POSTGRES_PORT": PG["port"], "STUDIO_POSTGRES_USER": PG["user"]}
    code, out = run(env, "restore", str(backup))
    assert code == 1
    assert "backup of a sqlite store; STUDIO_STORE is postgres" in out


def test_a_postgres_restore_over_a_schema_with_tables_is_refused(pg_env: dict[str, str], tmp_path: Path) -> None:
    env = {"STUDIO_STORE": "postgres", "STUDIO_POSTGRES_DB": pg_env["POSTGRES_DBNAME"],
           "STUDIO_POSTGRES_SCHEMA": pg_env["POSTGRES_SCHEMA"], "STUDIO_POSTGRES_HOST": PG["host"],
           "STUDIO_POSTGRES_PORT": PG["port"], "STUDIO_POSTGRES_USER": PG["user"], "STUDIO_GROUP_COMMIT": "false"}
    Ledger(pg_env).close()  # the event store's tables
    code, out = run(env, "backup", str(tmp_path / "pg.backup"))
    assert code == 0, out
    code, out = run(env, "restore", str(tmp_path / "pg.backup"))
    assert code == 1
    assert "already holds" in out and "--force" in out


def test_a_postgres_server_that_is_away_is_named_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    env = {"STUDIO_STORE": "postgres", "STUDIO_POSTGRES_HOST": "127.0.0.1", "STUDIO_POSTGRES_PORT": str(port)}
    (tmp_path / "some.backup").write_bytes(b"\x1f\x8b")
    for args in (("backup", str(tmp_path / "pg.backup")), ("restore", str(tmp_path / "some.backup"))):
        code, out = run(env, *args)
        assert code == 1
        assert f"cannot connect to PostgreSQL at 127.0.0.1:{port}" in out
    assert not (tmp_path / "pg.backup").exists()


def test_the_backup_reads_the_events_table_the_library_names(tmp_path: Path, pg_env: dict[str, str]) -> None:
    from service import backup, backup_pg

    lite = Ledger(StoreSettings(backend="sqlite", data_dir=tmp_path).event_store_env())
    pg = Ledger(pg_env)
    try:
        assert lite.recorder.events_table_name == backup.EVENTS_TABLE  # type: ignore[attr-defined]
        assert pg.recorder.events_table_name == backup_pg.EVENTS_TABLE  # type: ignore[attr-defined]
    finally:
        lite.close()
        pg.close()
