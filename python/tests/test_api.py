"""The API's results and exceptions, on databases of the test's private cluster."""

import logging
import threading
import time

import pytest

import wdh_migrate
from conftest import BUNDLED, tables

TWO = {
    "0001_customers": (
        "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);",
        "DROP TABLE customers;",
    ),
    "0002_email": (
        "ALTER TABLE customers ADD COLUMN email text;",
        "ALTER TABLE customers DROP COLUMN email;",
    ),
}


def ledger(db):
    return db.query(
        "SELECT version, name FROM wdh_migrate.applied ORDER BY version"
    )


def test_upgrade_status_downgrade_results(wdh_empty_database, make_set):
    url, folder = wdh_empty_database.url, make_set(TWO)

    first = wdh_migrate.upgrade(url, migrations=folder, to="+1")
    assert isinstance(first, wdh_migrate.RunResult)
    assert (first.database, first.from_version, first.to_version) == (
        wdh_empty_database.name,
        None,
        "0001",
    )
    assert [(s.version, s.name) for s in first.steps] == [("0001", "customers")]
    assert first.steps[0].duration_ms > 0
    assert first.override_used is False and first.warnings == []

    status = wdh_migrate.status(url, migrations=folder)
    assert status.current == "0001"
    assert [(m.version, m.state) for m in status.migrations] == [
        ("0001", "applied"),
        ("0002", "pending"),
    ]
    assert status.pending == ["0002"] and status.applied == ["0001"]
    assert status.migrations[0].applied_at and status.migrations[0].down == "reversible"

    rest = wdh_migrate.upgrade(url, migrations=str(folder))
    assert (rest.from_version, rest.to_version) == ("0001", "0002")
    assert wdh_migrate.upgrade(url, migrations=folder).steps == []

    back = wdh_migrate.downgrade(url, "base", migrations=folder)
    assert (back.from_version, back.to_version) == ("0002", None)
    assert [s.version for s in back.steps] == ["0002", "0001"]
    assert tables(wdh_empty_database, "= 'public'") == []
    assert ledger(wdh_empty_database) == []


def test_the_bundled_set_reaches_head(wdh_empty_database):
    result = wdh_migrate.upgrade(wdh_empty_database.url, migrations=BUNDLED)
    assert result.to_version == "0010" and len(result.steps) == 10
    assert "business.annuity_performance" in tables(wdh_empty_database)


def test_a_failed_migration_leaves_database_and_ledger_as_they_were(
    wdh_empty_database, make_set
):
    folder = make_set(
        {
            **TWO,
            "0003_broken": (
                "CREATE TABLE t3 (id int);\nINSERT INTO t3 VALUES ('not a number');",
                "DROP TABLE t3;",
            ),
        }
    )
    url = wdh_empty_database.url
    wdh_migrate.upgrade(url, migrations=folder, to="0001")
    with pytest.raises(wdh_migrate.MigrationFailed) as raised:
        wdh_migrate.upgrade(url, migrations=folder)
    e = raised.value
    assert isinstance(e, wdh_migrate.Error) and isinstance(e, RuntimeError)
    assert e.exit_code == 1 and e.database == wdh_empty_database.name
    f = e.failure
    assert (f.version, f.name, f.direction, f.sqlstate) == ("0003", "broken", "up", "22P02")
    assert (f.line, f.column) == (2, 24)  # the literal's first character
    assert f.file.endswith("0003_broken/up.sql")
    assert f.completed_before == ["0002_email"]
    message = str(e)
    assert message.startswith(f"database `{wdh_empty_database.name}`: applying migration 0003_broken failed at ")
    assert "rolled back (the server confirms it)" in message
    assert "1 migration of this run completed before it: 0002_email." in message
    # 0002 stays applied, 0003 left nothing.
    assert ledger(wdh_empty_database) == [["0001", "customers"], ["0002", "email"]]
    assert tables(wdh_empty_database, "= 'public'") == ["public.customers"]
    assert wdh_migrate.status(url, migrations=folder).pending == ["0003"]


def test_drift_is_refused_naming_the_keyword_argument(wdh_empty_database, make_set):
    folder = make_set(TWO)
    url = wdh_empty_database.url
    wdh_migrate.upgrade(url, migrations=folder, to="0001")
    (folder / "0001_customers" / "up.sql").write_text(
        "CREATE TABLE customers (id bigint PRIMARY KEY, name text);"
    )
    with pytest.raises(wdh_migrate.ChecksFailed) as raised:
        wdh_migrate.upgrade(url, migrations=folder)
    assert raised.value.exit_code == 4
    assert "1 applied migration(s) changed since they were applied" in str(raised.value)
    assert "or pass `allow_drift=True` to proceed anyway" in str(raised.value)
    assert "--allow-drift" not in str(raised.value)
    assert ledger(wdh_empty_database) == [["0001", "customers"]]

    result = wdh_migrate.upgrade(url, migrations=folder, allow_drift=True)
    assert result.to_version == "0002"
    assert any("changed since they were applied" in w for w in result.warnings)


def test_out_of_order_is_refused_naming_the_keyword_argument(wdh_empty_database, make_set):
    url = wdh_empty_database.url
    wdh_migrate.upgrade(url, migrations=make_set({"0002_email": "CREATE TABLE e (id int);"}))
    later = make_set(
        {"0001_customers": "CREATE TABLE c (id int);", "0002_email": "CREATE TABLE e (id int);"}
    )
    with pytest.raises(wdh_migrate.ChecksFailed) as raised:
        wdh_migrate.upgrade(url, migrations=later)
    assert "Pass `allow_out_of_order=True` if that is intended" in str(raised.value)
    assert wdh_migrate.upgrade(url, migrations=later, allow_out_of_order=True).steps[0].version == "0001"


def test_an_irreversible_migration_on_the_way_is_refused(wdh_empty_database, make_set):
    folder = make_set({"0001_one": "CREATE TABLE one (id int);"})
    wdh_migrate.upgrade(wdh_empty_database.url, migrations=folder)
    with pytest.raises(wdh_migrate.ChecksFailed):
        wdh_migrate.downgrade(wdh_empty_database.url, "base", migrations=folder)
    assert ledger(wdh_empty_database) == [["0001", "one"]]


def test_a_held_lock_times_out(wdh_empty_database, make_set):
    folder = make_set(
        {"0001_slow": ("SELECT pg_sleep(3); CREATE TABLE slow (id int);", "DROP TABLE slow;")}
    )
    url = wdh_empty_database.url
    holder = threading.Thread(target=wdh_migrate.upgrade, args=(url,), kwargs={"migrations": folder})
    holder.start()
    try:
        deadline = time.monotonic() + 10
        while not wdh_empty_database.query(
            "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()"
        ):
            assert time.monotonic() < deadline, "the first run never started its migration"
            time.sleep(0.02)
        with pytest.raises(wdh_migrate.LockTimeout) as raised:
            wdh_migrate.upgrade(url, migrations=folder, lock_wait=0.2)
        assert raised.value.exit_code == 5
        assert f"holds the migration lock on database `{wdh_empty_database.name}`" in str(raised.value)
    finally:
        holder.join()
    assert ledger(wdh_empty_database) == [["0001", "slow"]]


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: wdh_migrate.upgrade("postgresql://localhost"), "names no database"),
        (lambda: wdh_migrate.upgrade("not a url at all"), "cannot parse the connection string"),
        (lambda: wdh_migrate.upgrade("postgresql://h/wdh_test_x", to="sideways"), "is not an upgrade target"),
        (lambda: wdh_migrate.downgrade("postgresql://h/wdh_test_x", "up"), "is not a downgrade target"),
        (lambda: wdh_migrate.upgrade("postgresql://h/wdh_test_x", lock_wait=0), "lock_wait=0 is out of range"),
        (lambda: wdh_migrate.upgrade("postgresql://h/wdh_test_x", statement_timeout=float("nan")), "out of range"),
        (lambda: wdh_migrate.upgrade("postgresql://h/wdh_test_x", lock_timeout=(1.0, 0.1)), "runs backwards"),
        (lambda: wdh_migrate.upgrade("postgresql://h/wdh_test_x", lock_timeout=-1), "lock_timeout=-1"),
        (lambda: wdh_migrate.upgrade("postgresql://h/wdh_test_x", lock_budget=-2.0), "lock_budget=-2"),
        (
            lambda: wdh_migrate.upgrade("postgresql://h/wdh_test_x", migrations="/nonexistent/m"),
            "does not exist",
        ),
    ],
)
def test_bad_arguments_are_config_errors_before_any_connection(call, expected):
    # Host `h` does not resolve: any connection attempt would be a DatabaseError.
    with pytest.raises(wdh_migrate.ConfigError) as raised:
        call()
    assert raised.value.exit_code == 2
    assert expected in str(raised.value)


def test_passwords_never_show(wdh_server, make_set, tmp_path):
    password = "Sup3r-s3cret-pw"
    # No server there: the connection error quotes the URL.
    with pytest.raises(wdh_migrate.DatabaseError) as raised:
        wdh_migrate.upgrade(
            f"postgresql://app:{password}@/orders?host={tmp_path}&connect_timeout=2",
            migrations=BUNDLED,
        )
    assert password not in str(raised.value) and "app:***@" in str(raised.value)
    # A string that does not parse is masked too.
    with pytest.raises(wdh_migrate.ConfigError) as raised:
        wdh_migrate.upgrade(f"postgresql://app:{password}@x@db1/orders")
    assert password not in str(raised.value) and "Sup3r" not in str(raised.value)
    # The private cluster trusts local connections, so the password is
    # ignored; the server's own error quoting it is scrubbed.
    with wdh_server.create_database() as db:
        url = db.url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")
        assert password in url
        folder = make_set({"0001_leak": f"SELECT '{password}'::int;"})
        with pytest.raises(wdh_migrate.MigrationFailed) as raised:
            wdh_migrate.upgrade(url, migrations=folder)
        assert password not in str(raised.value)
        assert password not in raised.value.failure.message
        assert "***" in raised.value.failure.message


def test_a_protected_database_is_refused_unless_overridden_and_confirmed(
    protected_database, make_set, monkeypatch, caplog
):
    name, url = protected_database
    folder = make_set(TWO)
    wdh_migrate.upgrade(url, migrations=folder)
    monkeypatch.delenv("WDH_ALLOW_PRODUCTION_DOWNGRADE", raising=False)

    with pytest.raises(wdh_migrate.Blocked) as raised:
        wdh_migrate.downgrade(url, "-1", migrations=folder)
    assert raised.value.exit_code == 3 and raised.value.database == name
    assert str(raised.value).startswith("BLOCKED: Refusing to downgrade potential production database.")
    assert f"AND pass `confirm_database='{name}'`;" in str(raised.value)

    # The confirmation alone unlocks nothing, nor the variable alone.
    with pytest.raises(wdh_migrate.Blocked):
        wdh_migrate.downgrade(url, "-1", migrations=folder, confirm_database=name)
    monkeypatch.setenv("WDH_ALLOW_PRODUCTION_DOWNGRADE", "I_KNOW_WHAT_I_AM_DOING")
    with pytest.raises(wdh_migrate.Blocked) as raised:
        wdh_migrate.downgrade(url, "-1", migrations=folder)
    assert "but `confirm_database=` was not given" in str(raised.value)
    with pytest.raises(wdh_migrate.Blocked) as raised:
        wdh_migrate.downgrade(url, "-1", migrations=folder, confirm_database="other")
    assert "names `other`, not" in str(raised.value)
    monkeypatch.setenv("WDH_ALLOW_PRODUCTION_DOWNGRADE", "yes")
    with pytest.raises(wdh_migrate.Blocked) as raised:
        wdh_migrate.downgrade(url, "-1", migrations=folder, confirm_database=name)
    assert "is set to `yes`, not to the exact value I_KNOW_WHAT_I_AM_DOING" in str(raised.value)
    assert wdh_migrate.status(url, migrations=folder).current == "0002"

    monkeypatch.setenv("WDH_ALLOW_PRODUCTION_DOWNGRADE", "I_KNOW_WHAT_I_AM_DOING")
    with caplog.at_level(logging.WARNING, logger="wdh_migrate"):
        result = wdh_migrate.downgrade(url, "-1", migrations=folder, confirm_database=name)
    assert result.override_used and result.to_version == "0001"
    assert result.warnings[0].startswith(f"WARNING: downgrading protected database `{name}`")
    assert result.warnings[0] in caplog.messages


def test_check_passes_on_the_bundled_set():
    report = wdh_migrate.check(migrations=BUNDLED)
    assert isinstance(report, wdh_migrate.CheckResult)
    assert [m.version for m in report.migrations] == [f"{n:04}" for n in range(1, 11)]
    assert {m.outcome for m in report.migrations} <= {"inverse", "no-op-down", "irreversible"}
    assert report.objects_at_head > 0


def test_check_warns_of_a_view_made_from_the_current_time(make_set, caplog):
    folder = make_set(
        {
            "0001_recent": (
                "DO $$BEGIN EXECUTE format("
                "'CREATE VIEW recent AS SELECT %L::timestamptz AS since', clock_timestamp()); END$$;",
                "DROP VIEW recent;",
            ),
            "0002_t": ("CREATE TABLE t (id int);", "DROP TABLE t;"),
        }
    )
    with caplog.at_level(logging.WARNING, logger="wdh_migrate"):
        report = wdh_migrate.check(migrations=folder)
    assert [m.outcome for m in report.migrations] == ["inverse", "inverse"]
    assert report.migrations[0].warnings == []
    [warning] = report.migrations[1].warnings
    assert warning.startswith("view public.recent's definition embeds a time literal")
    assert warning.endswith("not counted as a difference")
    assert report.warnings == [f"0002_t: {warning}"]
    assert report.warnings[0] in caplog.messages


def test_check_raises_with_its_report_on_a_down_that_is_not_the_inverse(make_set):
    folder = make_set(
        {
            "0001_ok": ("CREATE TABLE ok (id int);", "DROP TABLE ok;"),
            "0002_bad": ("CREATE TABLE a (id int); CREATE TABLE b (id int);", "DROP TABLE a;"),
        }
    )
    with pytest.raises(wdh_migrate.ChecksFailed) as raised:
        wdh_migrate.check(migrations=folder)
    e = raised.value
    assert e.exit_code == 4
    assert "the down.sql of 0002_bad does not restore the schema" in str(e)
    assert "table public.b" in str(e)
    assert [m.outcome for m in e.report.migrations] == ["inverse", "not-inverse"]


def test_check_on_an_admin_url_fails_on_changed_shared_objects(wdh_server, make_set):
    folder = make_set({"0001_role": ("CREATE ROLE wdh_api_role_x;", "")})
    admin_url = wdh_server.url_for("postgres")
    try:
        with pytest.raises(wdh_migrate.ChecksFailed) as raised:
            wdh_migrate.check(migrations=folder, admin_url=admin_url)
        assert "role wdh_api_role_x" in str(raised.value)
        assert raised.value.report.global_diff
    finally:
        wdh_server.query("postgres", "DROP ROLE IF EXISTS wdh_api_role_x")


def test_check_raises_migration_failed_on_a_step_that_does_not_run(make_set):
    folder = make_set({"0001_bad": ("CREATE TABLE;", "")})
    with pytest.raises(wdh_migrate.MigrationFailed) as raised:
        wdh_migrate.check(migrations=folder)
    assert "0001_bad did not run (up)" in str(raised.value)
    assert raised.value.report.migrations[0].outcome == "failed"
    assert raised.value.failure is None


def test_a_protected_downgrade_keeps_a_snapshot_of_what_it_destroys(
    protected_database, make_set, monkeypatch, tmp_path
):
    name, url = protected_database
    folder = make_set(
        {
            "0001_customers": (
                "CREATE TABLE customers (id bigint PRIMARY KEY, email text);"
                " INSERT INTO customers SELECT g, 'e' || g FROM generate_series(1, 25) g;",
                "DROP TABLE customers;",
            ),
        }
    )
    wdh_migrate.upgrade(url, migrations=folder)
    monkeypatch.setenv("WDH_ALLOW_PRODUCTION_DOWNGRADE", "I_KNOW_WHAT_I_AM_DOING")
    # A snapshot that cannot be written refuses the run: nothing is lost.
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(wdh_migrate.Blocked) as raised:
        wdh_migrate.downgrade(
            url, "base", migrations=folder, confirm_database=name, snapshot_dir=not_a_dir
        )
    assert "could not be written, so nothing ran" in str(raised.value)
    assert "`snapshot_dir=`" in str(raised.value)
    assert wdh_migrate.status(url, migrations=folder).current == "0001"

    result = wdh_migrate.downgrade(
        url, "base", migrations=folder, confirm_database=name, snapshot_dir=tmp_path / "s"
    )
    assert result.destroyed == ["0001_customers: drop table public.customers (25 rows)"]
    assert result.snapshot is not None and result.snapshot.startswith(str(tmp_path / "s"))
    assert (tmp_path / "s").is_dir() and len(list((tmp_path / "s").iterdir())) == 1
    assert any("It destroys: 0001_customers" in w for w in result.warnings)
