"""The incident, replayed as a pytest session of a project like the one it
happened in: ``DATABASE_URL`` names production (a stand-in on a cluster of
this test: its ``postgres`` database at head, with rows), a fixture-made
database is upgraded through the API, the test body fails, and the
teardown restores the environment too early and downgrades to base with the
explicit URL. Production must come out unchanged."""

import json
import subprocess
from pathlib import Path

from conftest import BUNDLED, dedent, run_pytest
from wdh_migrate.testing import TestCluster

import wdh_migrate

ROWS = """
INSERT INTO enterprise.company (company_id, legal_name, short_name)
    VALUES ('C1', 'Acme Annuity Ltd', 'Acme'), ('C2', 'Beta Pensions', 'Beta');
INSERT INTO mapping.product_line VALUES ('PL1', 'Enterprise annuity');
INSERT INTO mapping.plan_company VALUES ('PLAN0001', 'C1', 'PL1'), ('PLAN0002', 'C2', 'PL1');
INSERT INTO business.annuity_performance (report_month, plan_code, company_id, ending_assets)
    VALUES ('2026-01-01', 'PLAN0001', 'C1', 100.00), ('2026-01-01', 'PLAN0002', 'C2', 250.50);
"""

CONFTEST = '''
import json
import os

import pytest
import wdh_migrate

PROD_URL = os.environ["DATABASE_URL"]  # the application's settings: production
MIGRATIONS = {migrations!r}
RECORDS = {records!r}


def record(name, value):
    with open(os.path.join(RECORDS, name), "w") as f:
        json.dump(value, f)


@pytest.fixture
def postgres_db_with_migrations(wdh_empty_database):
    temp_dsn = wdh_empty_database.url
    assert wdh_empty_database.name.startswith("wdh_test_")
    wdh_migrate.upgrade(temp_dsn, migrations=MIGRATIONS)
    os.environ["DATABASE_URL"] = temp_dsn  # the old fixture's hijack
    try:
        yield temp_dsn
    finally:
        # TEARDOWN: the environment is restored too early, as in the incident.
        os.environ["DATABASE_URL"] = PROD_URL
        result = wdh_migrate.downgrade(temp_dsn, "base", migrations=MIGRATIONS)
        status = wdh_migrate.status(temp_dsn, migrations=MIGRATIONS)
        record("teardown.json", {{
            "database": result.database,
            "expected": wdh_empty_database.name,
            "to": result.to_version,
            "steps": len(result.steps),
            "current": status.current,
        }})


@pytest.fixture
def teardown_from_the_settings(wdh_empty_database):
    """A teardown that takes its URL from the settings: the guard stops it."""
    wdh_migrate.upgrade(wdh_empty_database.url, migrations=MIGRATIONS)
    yield
    try:
        wdh_migrate.downgrade(os.environ["DATABASE_URL"], "base", migrations=MIGRATIONS)
    except wdh_migrate.Blocked as e:
        record("blocked.json", {{"message": str(e), "exit_code": e.exit_code}})
        raise
'''

TESTS = '''
def test_migrations(postgres_db_with_migrations):
    raise AssertionError("the test body fails, as test_migrations.py did")


def test_settings_teardown(teardown_from_the_settings):
    pass
'''


def production(cluster: TestCluster, url: str):
    """Everything of production a downgrade could change: the schema dump,
    row counts, the ledger and the audit log."""
    dump = subprocess.run(
        [str(Path(cluster.bindir) / "pg_dump"), "--schema-only", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    dump = "\n".join(l for l in dump.splitlines() if not l.startswith(("\\restrict", "\\unrestrict")))
    q = lambda sql: cluster.server.query("postgres", sql)  # noqa: E731
    counts = [
        q(f"SELECT count(*) FROM {t}")[0][0]
        for t in [
            "enterprise.company",
            "mapping.product_line",
            "mapping.plan_company",
            "business.annuity_performance",
        ]
    ]
    ledger = q("SELECT version, checksum FROM wdh_migrate.applied ORDER BY version")
    audit = q("SELECT operation, outcome FROM wdh_migrate.audit ORDER BY id")
    return dump, counts, ledger, audit


def test_the_incident_replayed_leaves_production_unchanged(tmp_path):
    with TestCluster.start() as cluster:
        prod_url = cluster.admin_url  # the cluster's `postgres` database
        wdh_migrate.upgrade(prod_url, migrations=BUNDLED)
        cluster.server.query("postgres", ROWS)
        before = production(cluster, prod_url)
        assert before[1] == ["2", "1", "2", "2"] and len(before[2]) == 10

        project = tmp_path / "project"
        records = tmp_path / "records"
        project.mkdir()
        records.mkdir()
        (project / "conftest.py").write_text(
            dedent(CONFTEST.format(migrations=str(BUNDLED), records=str(records)))
        )
        (project / "test_migrations.py").write_text(dedent(TESTS))
        # The temporary databases are made on the same server as production,
        # through its admin URL, as the incident's were.
        run = run_pytest(
            project,
            "--wdh-admin-url",
            prod_url,
            env={"DATABASE_URL": prod_url, "WDH_DATABASE_URL": prod_url},
        )
        output = run.stdout + run.stderr
        assert run.returncode == 1, output
        assert "1 failed, 1 passed, 1 error" in output, output

        teardown = json.loads((records / "teardown.json").read_text())
        assert teardown["database"] == teardown["expected"]
        assert teardown["database"].startswith("wdh_test_")
        assert (teardown["to"], teardown["current"], teardown["steps"]) == (None, None, 10)

        blocked = json.loads((records / "blocked.json").read_text())
        assert blocked["exit_code"] == 3
        assert blocked["message"].startswith(
            "BLOCKED: Refusing to downgrade potential production database.\n  Database: `postgres`\n"
        )

        assert production(cluster, prod_url) == before
        left = cluster.server.query(
            "postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'wdh\\_test\\_%'"
        )
        assert left == []
