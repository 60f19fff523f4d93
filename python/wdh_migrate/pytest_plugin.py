"""pytest fixtures for wdh-migrate (registered through the ``pytest11`` entry point).

Fixtures:

* ``wdh_database`` (function scope) — a fresh ``wdh_test_`` database already
  at head: a clone of the template of the migration set named by the ini
  option ``wdh_migrations`` (default ``migrations``, relative to the
  rootdir), taken from a pool of clones made ahead of demand. ``.url`` and
  ``.name``; ``str()`` is the URL. Dropped after the test, passed or failed.
* ``wdh_empty_database`` (function scope) — the same, not migrated.
* ``wdh_server`` (session scope) — the server they are made on: a private
  cluster of this process (each pytest-xdist worker starts its own), or the
  server meant for tests that ``--wdh-admin-url`` / the ini option
  ``wdh_admin_url`` names (one template built once for all workers, under the
  harness's advisory lock).
* ``wdh_migration_set`` (session scope) — the loaded migration set.

Nothing is left behind: test databases are dropped when their test ends, a
private cluster is stopped and removed when the session ends (by a watchdog
process if the worker is killed), and on a shared server the databases a
crashed worker left are swept (by the next process that uses the server, and
by the xdist controller when the session ends).

The plugin never reads ``DATABASE_URL`` or any other setting that names a
database.

The time each test waited for its database is reported at the end of the
run (``wdh-migrate: per-test database cost``). Any test may add to that
report with ``request.node.user_properties.append(("wdh_cost:<label>", ms))``.
"""

import os
import statistics
import time
from typing import Dict, Iterator, List, Optional, Set

import pytest

from wdh_migrate.testing import MigrationSet, TestCluster, TestDatabase, TestServer

COST_PREFIX = "wdh_cost:"

# The checksums of the sets whose template this process has asked for.
_templates_built: Set[str] = set()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wdh_migrate", "wdh-migrate test databases")
    group.addoption(
        "--wdh-admin-url",
        dest="wdh_admin_url",
        default=None,
        metavar="URL",
        help="make test databases on this server meant for tests (its role needs CREATEDB) "
        "instead of a private cluster per process; overrides the ini option wdh_admin_url",
    )
    parser.addini(
        "wdh_migrations",
        "the migrations folder the wdh_database fixture is migrated with, relative to the rootdir",
        default="migrations",
    )
    parser.addini(
        "wdh_admin_url",
        "an admin URL of a server meant for tests (default: a private cluster per process)",
        default="",
    )
    parser.addini(
        "wdh_pool_size",
        "how many migrated clones are kept ready ahead of demand (0: none)",
        default="2",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_CostReport(config), "wdh_migrate_costs")


def admin_url(config: pytest.Config) -> Optional[str]:
    """The admin URL the session's databases are made on, or None for a
    private cluster: ``--wdh-admin-url``, else the ini option."""
    return config.getoption("wdh_admin_url") or config.getini("wdh_admin_url") or None


def _pool_size(config: pytest.Config) -> int:
    value = config.getini("wdh_pool_size")
    try:
        size = int(value)
    except ValueError:
        raise pytest.UsageError(f"wdh_pool_size = {value!r} is not a whole number") from None
    if size < 0:
        raise pytest.UsageError(f"wdh_pool_size = {size} must not be negative")
    return size


@pytest.fixture(scope="session")
def wdh_server(request: pytest.FixtureRequest) -> Iterator[TestServer]:
    """The server test databases are made on: a private cluster of this
    process, or the server ``--wdh-admin-url`` / ``wdh_admin_url`` names."""
    config = request.config
    pool_size = _pool_size(config)
    url = admin_url(config)
    if url:
        server = TestServer.from_admin_url(url)
        server.set_pool_size(pool_size)
        try:
            yield server
        finally:
            # A worker may end without running exit handlers: finish now.
            server.finish()
        return
    cluster = TestCluster.start()
    server = cluster.server
    server.set_pool_size(pool_size)
    try:
        yield server
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def wdh_migration_set(request: pytest.FixtureRequest) -> MigrationSet:
    """The migration set named by the ini option ``wdh_migrations``, loaded once."""
    config = request.config
    value = config.getini("wdh_migrations")
    path = value if os.path.isabs(value) else os.path.join(str(config.rootpath), value)
    try:
        return MigrationSet.load(path)
    except Exception as e:
        raise pytest.UsageError(
            f"wdh_migrations = {value!r} (relative to the rootdir {config.rootpath}): {e}"
        ) from e


@pytest.fixture
def wdh_database(
    request: pytest.FixtureRequest, wdh_server: TestServer, wdh_migration_set: MigrationSet
) -> Iterator[TestDatabase]:
    """A fresh ``wdh_test_`` database at the head of the migration set."""
    if wdh_migration_set.checksum not in _templates_built:
        # Built once per server, by the first test that asks: reported apart.
        started = time.perf_counter()
        wdh_server.template(wdh_migration_set)
        _templates_built.add(wdh_migration_set.checksum)
        _record(request, "wdh_template (built or found once per process)", started)
    started = time.perf_counter()
    db = wdh_server.create_migrated(wdh_migration_set)
    _record(request, "wdh_database", started)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def wdh_empty_database(
    request: pytest.FixtureRequest, wdh_server: TestServer
) -> Iterator[TestDatabase]:
    """A fresh, empty ``wdh_test_`` database."""
    started = time.perf_counter()
    db = wdh_server.create_database()
    _record(request, "wdh_empty_database", started)
    try:
        yield db
    finally:
        db.close()


def _record(request: pytest.FixtureRequest, label: str, started: float) -> None:
    ms = (time.perf_counter() - started) * 1000.0
    request.node.user_properties.append((COST_PREFIX + label, ms))


class _CostReport:
    """Collects the costs the tests recorded (from xdist workers too, whose
    reports carry their user properties) and prints them at the end; on a
    shared server, the xdist controller sweeps what crashed workers left."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.costs: Dict[str, List[float]] = {}
        self.seen: Dict[str, int] = {}

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Each phase's report carries every property recorded so far.
        seen = self.seen.get(report.nodeid, 0)
        for name, value in report.user_properties[seen:]:
            if isinstance(name, str) and name.startswith(COST_PREFIX):
                self.costs.setdefault(name[len(COST_PREFIX) :], []).append(float(value))
        self.seen[report.nodeid] = max(seen, len(report.user_properties))

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        controller = not hasattr(self.config, "workerinput")
        workers = getattr(self.config.option, "numprocesses", None)
        url = admin_url(self.config)
        if controller and workers and url and self.costs:
            # Test databases of workers that died without dropping theirs:
            # every worker has ended, so nothing of theirs is still in use.
            server = TestServer.from_admin_url(url)
            swept = server.sweep_stale()
            if swept:
                self.config.get_terminal_writer().line(
                    f"wdh-migrate: swept {len(swept)} test database(s) left by workers that died"
                )

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        if not self.costs or hasattr(self.config, "workerinput"):
            return
        terminalreporter.section("wdh-migrate: per-test database cost")
        for label, values in sorted(self.costs.items()):
            terminalreporter.line(_summary(label, values))


def _summary(label: str, values: List[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return (
        f"{label}: {len(ordered)} x, median {statistics.median(ordered):.2f} ms, "
        f"p95 {p95:.2f} ms, max {ordered[-1]:.2f} ms"
    )
