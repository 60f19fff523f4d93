"""The plugin's fixtures: migrated and empty databases, isolation between
tests, and nothing left behind (inner pytest runs, with xdist and crashes)."""

import glob
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import wdh_migrate
from conftest import BUNDLED, dedent, run_pytest, tables
from wdh_migrate.testing import MigrationSet, TestCluster, TestDatabase, TestServer


def test_wdh_database_is_a_fresh_clone_at_head(wdh_database, wdh_migration_set):
    assert isinstance(wdh_database, TestDatabase)
    assert wdh_database.name.startswith("wdh_test_") and len(wdh_database.name) <= 63
    assert str(wdh_database) == wdh_database.url
    assert wdh_database.name in wdh_database.url
    status = wdh_migrate.status(wdh_database.url, migrations=BUNDLED)
    assert status.current == wdh_migration_set.versions[-1] == "0010"
    assert status.pending == []
    assert "business.annuity_performance" in tables(wdh_database)


def test_wdh_empty_database_is_empty(wdh_empty_database):
    assert wdh_empty_database.name.startswith("wdh_test_")
    assert tables(wdh_empty_database) == []


# Two tests writing the same row: each sees only its own database.
@pytest.mark.parametrize("company", ["first", "second"])
def test_each_test_has_its_own_database(wdh_database, company):
    assert wdh_database.query("SELECT count(*) FROM enterprise.company") == [["0"]]
    wdh_database.query(
        "INSERT INTO enterprise.company (company_id, legal_name, short_name) "
        f"VALUES ('c1', '{company}', '{company}')"
    )
    assert wdh_database.query("SELECT legal_name FROM enterprise.company") == [[company]]


def test_databases_of_a_session_are_dropped_when_their_tests_end(wdh_server, wdh_migration_set):
    made = [wdh_server.create_migrated(wdh_migration_set) for _ in range(3)]
    names = [d.name for d in made]
    for d in made:
        d.close()
        assert not d.open
    assert wdh_server.wait_for_drops(10)
    rows = wdh_server.query("postgres", "SELECT datname FROM pg_database")
    assert not set(names) & {r[0] for r in rows}


def test_a_name_without_the_prefix_is_never_dropped(wdh_server):
    with pytest.raises(wdh_migrate.DatabaseError) as raised:
        wdh_server.drop_database("postgres")
    assert "wdh_test_" in str(raised.value)


def test_a_bad_migrations_option_is_a_usage_error(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nwdh_migrations = no/such/folder\n")
    (tmp_path / "test_x.py").write_text("def test_x(wdh_database):\n    pass\n")
    run = run_pytest(tmp_path)
    assert run.returncode != 0
    assert "wdh_migrations = 'no/such/folder' (relative to the rootdir" in run.stdout + run.stderr


INNER_TESTS = '''
import os, signal, time
import pytest
import wdh_migrate

RECORD = os.environ["WDH_TEST_RECORD"]

def record(kind, value):
    with open(os.path.join(RECORD, f"{kind}-{os.getpid()}-{time.monotonic_ns()}"), "w") as f:
        f.write(value)

@pytest.mark.parametrize("n", range(6))
def test_migrated(wdh_database, wdh_server, n):
    record("db", wdh_database.name)
    record("server", wdh_server.url_for("postgres"))
    assert wdh_migrate.status(wdh_database.url, migrations=MIGRATIONS).pending == []
    time.sleep(0.05)

def test_empty(wdh_empty_database):
    record("db", wdh_empty_database.name)

def test_fails(wdh_database):
    record("db", wdh_database.name)
    assert False, "this test fails on purpose"
'''

CRASH = '''
def test_crashes_its_worker(wdh_database, wdh_server):
    record("db", wdh_database.name)
    record("server", wdh_server.url_for("postgres"))
    record("crashed", wdh_database.name)
    os.kill(os.getpid(), signal.SIGKILL)
'''


def inner_project(tmp_path: Path, crash: bool) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "records").mkdir()
    (project / "pytest.ini").write_text(f"[pytest]\nwdh_migrations = {BUNDLED}\n")
    body = f"MIGRATIONS = {str(BUNDLED)!r}\n" + INNER_TESTS + (CRASH if crash else "")
    (project / "test_inner.py").write_text(body)
    return project


def records(project: Path, kind: str):
    return [
        Path(p).read_text() for p in sorted(glob.glob(str(project / "records" / f"{kind}-*")))
    ]


def socket_dirs(servers):
    """The private clusters' directories, from their admin URLs."""
    return {u.split("host=")[1].split("&")[0] for u in servers}


def wait_until_gone(paths, seconds=15.0):
    deadline = time.monotonic() + seconds
    while any(os.path.exists(p) for p in paths) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in paths if os.path.exists(p)]


@pytest.mark.parametrize("crash", [False, True], ids=["passing-and-failing", "a-worker-killed"])
def test_xdist_workers_each_get_a_private_cluster_removed_afterwards(tmp_path, crash):
    project = inner_project(tmp_path, crash)
    run = run_pytest(project, "-n", "2", env={"WDH_TEST_RECORD": str(project / "records")})
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    # The failing test fails; so does the one whose worker was killed.
    assert f"{2 if crash else 1} failed, 7 passed" in output, output
    assert "wdh-migrate: per-test database cost" in output
    assert "wdh_database: " in output
    # Two workers (three when a crashed one was replaced), each its own cluster.
    clusters = socket_dirs(records(project, "server"))
    assert len(clusters) >= 2, clusters
    # Every cluster and its directory is gone: stopped at session end, or by
    # the watchdog of the worker that was killed.
    assert wait_until_gone(clusters) == []
    if crash:
        assert "crashed" in output, output


def test_a_shared_admin_url_builds_one_template_and_leaves_no_database(tmp_path):
    project = inner_project(tmp_path, crash=True)
    with TestCluster.start() as shared:
        server = shared.server
        run = run_pytest(
            project,
            "-n",
            "2",
            "--wdh-admin-url",
            shared.admin_url,
            env={"WDH_TEST_RECORD": str(project / "records")},
        )
        output = run.stdout + run.stderr
        assert run.returncode == 1, output
        assert "2 failed, 7 passed" in output, output
        # All on the shared server, no private cluster started.
        assert socket_dirs(records(project, "server")) == {str(shared.root)}
        made = set(records(project, "db"))
        assert len(made) == 9
        left = [
            r[0]
            for r in server.query(
                "postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'wdh\\_test\\_%'"
            )
        ]
        # The template stays for the next run (built once for both workers);
        # no test database is left, not even the killed worker's.
        templates = [n for n in left if n.startswith("wdh_test_tpl_")]
        assert templates == [MigrationSet.load(BUNDLED).template_name]
        assert [n for n in left if not n.startswith("wdh_test_tpl_")] == [], output
        assert records(project, "crashed")[0] in made


def test_a_killed_process_s_databases_are_swept_by_the_next(tmp_path):
    """The sweep drops what a process left when it died without cleaning up
    (no Drop, no exit handler); nothing of a live process."""
    with TestCluster.start() as shared:
        script = tmp_path / "leave.py"
        script.write_text(
            dedent(
                f"""
                import os, sys
                from wdh_migrate.testing import TestServer, MigrationSet
                server = TestServer.from_admin_url({shared.admin_url!r})
                db = server.create_migrated(MigrationSet.load({str(BUNDLED)!r}))
                print(db.name, flush=True)
                os._exit(0)
                """
            )
        )
        left = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        assert left.returncode == 0, left.stderr
        name = left.stdout.split()[0]
        mine = shared.server.create_database()
        listed = lambda: {  # noqa: E731
            r[0] for r in shared.server.query("postgres", "SELECT datname FROM pg_database")
        }
        assert name in listed()
        # The first use of the server in a process sweeps it.
        TestServer.from_admin_url(shared.admin_url)
        assert name not in listed() and mine.name in listed()
        assert [n for n in listed() if n.startswith("wdh_test_") and not n.startswith("wdh_test_tpl_")] == [mine.name]
        mine.close()
