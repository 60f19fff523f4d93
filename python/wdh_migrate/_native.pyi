"""Type stubs of ``wdh_migrate._native``, the package's native module."""

import os
from typing import List, Optional, Sequence, Tuple, Union

_Path = Union[str, "os.PathLike[str]"]

__version__: str

class Error(RuntimeError):
    """Any failure of wdh_migrate."""

    exit_code: int
    """The ``wdh-migrate`` command's exit code for the same failure."""
    database: Optional[str]
    """The database the failure is about, where one is known."""

class Blocked(Error):
    """Refused by the production guard (``BLOCKED: …``), or the connection
    reached another database than the URL names (exit 3). Nothing was run."""

class MigrationFailed(Error):
    """A migration failed (exit 1). The message says what stays applied."""

    failure: Optional["MigrationFailure"]
    """What the server said (``None`` for a step of ``check()``)."""
    report: Optional["CheckResult"]
    """``check()``'s report, when ``check()`` raised it."""

class ChecksFailed(Error):
    """Refused by the checks (exit 4): drift, missing or out-of-order
    migrations, an irreversible migration on the way, an earlier failed
    no-transaction migration; or ``check()`` found a down.sql that is not the
    inverse of its up.sql."""

    report: Optional["CheckResult"]
    """``check()``'s report, when ``check()`` raised it."""

class LockTimeout(Error):
    """Another run holds the migration lock and ``lock_wait`` ran out (exit 5)."""

class ConfigError(Error):
    """Bad arguments: the URL, the target, a duration or the migrations
    folder (exit 2). Nothing was contacted."""

class DatabaseError(Error):
    """The database or the test server failed outside a migration (exit 1)."""

class Step:
    """One migration that ran."""

    version: str
    name: str
    duration_ms: float

class RunResult:
    """What an upgrade or a downgrade did."""

    database: str
    """The database it ran on, as the server names it."""
    from_version: Optional[str]
    """The version before (``None``: base)."""
    to_version: Optional[str]
    """The version after (``None``: base)."""
    steps: List[Step]
    """The migrations that ran, in order."""
    override_used: bool
    """Whether the production guard was overridden."""
    warnings: List[str]
    """The run's warnings, also logged on the ``wdh_migrate`` logger."""
    destroyed: List[str]
    """What its destructive steps destroyed, a line each, as previewed before they ran."""
    snapshot: Optional[str]
    """The snapshot (``pg_dump``, custom format) written before them, if any."""

class MigrationStatus:
    """One migration of the set as the ledger sees it."""

    version: str
    name: str
    state: str
    """``applied``, ``pending``, ``drifted``, ``failed``, ``missing`` or ``out-of-order``."""
    down: str
    """``reversible``, ``no-op down``, ``irreversible`` or ``no down.sql``."""
    no_transaction: bool
    applied_at: Optional[str]
    note: Optional[str]
    """Details of a failed or drifted migration, with the repair."""

class Status:
    """The migration state of a database."""

    database: str
    current: Optional[str]
    """The newest applied version (``None``: base)."""
    migrations: List[MigrationStatus]
    ignored: List[Tuple[str, str]]
    """Files of the folder that are not migrations: (path, why)."""
    invalid_indexes: List[str]
    @property
    def pending(self) -> List[str]:
        """The versions not applied yet, in the order an upgrade applies them."""
    @property
    def applied(self) -> List[str]:
        """The applied versions, in version order."""

class MigrationCheck:
    """What ``check()`` found for one migration."""

    version: str
    name: str
    outcome: str
    """``inverse``, ``no-op-down``, ``irreversible``, ``not-inverse`` or ``failed``."""
    reason: Optional[str]
    diff: Optional[str]
    step: Optional[str]
    error: Optional[str]
    warnings: List[str]
    """What the check saw at this migration and did not count as a difference (a definition made from the current time)."""

class CheckResult:
    """The whole check."""

    migrations: List[MigrationCheck]
    missing_down: List[str]
    irreversible: List[str]
    ignored: List[Tuple[str, str]]
    objects_at_head: int
    global_diff: str
    globals_unread: List[str]
    warnings: List[str]
    """What the check saw and did not count as a difference, each as ``0002_name: …``; also logged on the ``wdh_migrate`` logger."""

class MigrationFailure:
    """A migration that failed, with everything the server said."""

    version: str
    name: str
    file: str
    direction: str
    """``up`` or ``down``."""
    line: Optional[int]
    column: Optional[int]
    sqlstate: str
    message: str
    detail: Optional[str]
    hint: Optional[str]
    completed_before: List[str]
    """Migrations of this run that completed before it (they stay applied)."""

def upgrade(
    url: str,
    *,
    migrations: _Path = "migrations",
    to: str = "head",
    allow_drift: bool = False,
    allow_out_of_order: bool = False,
    retry_failed: bool = False,
    lock_wait: Optional[float] = None,
    lock_timeout: Union[float, Tuple[float, float], None] = None,
    lock_budget: Optional[float] = None,
    statement_timeout: Optional[float] = None,
    snapshot: Optional[bool] = None,
    snapshot_dir: Optional[_Path] = None,
) -> RunResult:
    """Applies the pending migrations of ``migrations`` to the database ``url``
    names, up to ``to`` (``"head"``, a version, or ``"+N"``).

    ``url`` is required and is the database touched: nothing else is read.
    Durations are seconds: ``lock_wait`` (default 60), ``statement_timeout``
    (default: the server's), ``lock_budget`` (how long a migration that cannot
    get its locks is retried, default 60) and ``lock_timeout`` (each attempt's,
    or ``(first, max)`` doubling from the first; default ``(0.1, 1.0)``; ``0``
    for the server's and no retries). Raises :class:`ChecksFailed` on drift, missing or out-of-order
    migrations (``allow_drift``, ``allow_out_of_order``),
    :class:`MigrationFailed`, :class:`LockTimeout`, :class:`ConfigError`,
    :class:`DatabaseError`.
    """

def downgrade(
    url: str,
    to: str,
    *,
    migrations: _Path = "migrations",
    confirm_database: Optional[str] = None,
    allow_drift: bool = False,
    retry_failed: bool = False,
    lock_wait: Optional[float] = None,
    lock_timeout: Union[float, Tuple[float, float], None] = None,
    lock_budget: Optional[float] = None,
    statement_timeout: Optional[float] = None,
    snapshot: Optional[bool] = None,
    snapshot_dir: Optional[_Path] = None,
) -> RunResult:
    """Reverts applied migrations of the database ``url`` names down to ``to``
    (``"base"``, a version that stays applied, or ``"-N"``); ``to`` is required.

    Guarded: a database whose name does not mark it safe (a word ``test``,
    ``tmp``, ``dev``, ``local``, ``sandbox``, or the prefix ``wdh_test_``) is
    refused with :class:`Blocked` before any connection is made, unless
    ``WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING`` is set and
    ``confirm_database`` names it. After connecting, the live database and its
    environment marker are judged again.

    What each step would destroy is found first (rehearsed in a transaction
    that is rolled back, or read from the parse tree) and returned in
    ``destroyed``. On a protected database, a ``pg_dump`` snapshot of it is
    written to ``snapshot_dir`` (default ``./wdh-snapshots``) before the first
    step, its path returned in ``snapshot``; ``snapshot=True`` takes one on a
    safe database too, ``snapshot=False`` skips it (on a protected database
    only with the override). A snapshot that cannot be written raises
    :class:`Blocked`, nothing run.
    """

def status(url: str, *, migrations: _Path = "migrations") -> Status:
    """The state of every migration of ``migrations`` on the database ``url``
    names. Reads only."""

def check(*, migrations: _Path = "migrations", admin_url: Optional[str] = None) -> CheckResult:
    """Checks on a throw-away database that every down.sql exactly reverses its
    up.sql: on a private cluster started for it, or on a ``wdh_test_`` database
    made on the server ``admin_url`` names (then the migrations must also
    leave what every database of that server shares as it was).

    Raises :class:`ChecksFailed` (with ``report``) when a down.sql is not the
    inverse of its up.sql, :class:`MigrationFailed` (with ``report``) when a
    step does not run.
    """

def cli_main(argv: Sequence[str]) -> int:
    """Runs the ``wdh-migrate`` command line in this process; its exit code."""

class MigrationSet:
    """A migration folder loaded once, for templates and clones."""

    @staticmethod
    def load(path: _Path) -> "MigrationSet": ...
    @property
    def path(self) -> str: ...
    @property
    def versions(self) -> List[str]: ...
    @property
    def checksum(self) -> str: ...
    @property
    def template_name(self) -> str: ...

class TestCluster:
    """A private PostgreSQL cluster for this process."""

    @staticmethod
    def start() -> "TestCluster": ...
    @property
    def server(self) -> "TestServer": ...
    @property
    def root(self) -> str: ...
    @property
    def admin_url(self) -> str: ...
    @property
    def bindir(self) -> str: ...
    @property
    def running(self) -> bool: ...
    def stop(self) -> None: ...
    def __enter__(self) -> "TestCluster": ...
    def __exit__(self, *exc: object) -> None: ...

class TestServer:
    """A server that hands out ``wdh_test_`` databases."""

    @staticmethod
    def from_admin_url(admin_url: str) -> "TestServer": ...
    def create_database(self) -> "TestDatabase": ...
    def create_migrated(self, set: MigrationSet) -> "TestDatabase": ...
    def clone_migrated(self, set: MigrationSet) -> "TestDatabase": ...
    def template(self, set: MigrationSet) -> str: ...
    def set_pool_size(self, size: int) -> None: ...
    def sweep_stale(self) -> List[str]: ...
    def finish(self) -> bool: ...
    def wait_for_drops(self, timeout: float) -> bool: ...
    def drop_database(self, name: str) -> None: ...
    def url_for(self, database: str) -> str: ...
    def query(self, database: str, sql: str) -> List[List[Optional[str]]]: ...

class TestDatabase:
    """One test's ``wdh_test_`` database; ``str()`` is its URL."""

    @property
    def name(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def open(self) -> bool: ...
    def query(self, sql: str) -> List[List[Optional[str]]]: ...
    def close(self) -> None: ...
    def drop(self) -> None: ...
    def __enter__(self) -> "TestDatabase": ...
    def __exit__(self, *exc: object) -> None: ...
