"""PostgreSQL schema migrations that never touch a database you did not mean.

The API runs wdh-migrate's library in this process (a native module, no
CLI output parsed)::

    import wdh_migrate

    wdh_migrate.upgrade(url, migrations="migrations")            # to head
    wdh_migrate.status(url, migrations="migrations")
    wdh_migrate.downgrade(url, "base", migrations="migrations")  # guarded
    wdh_migrate.check(migrations="migrations")                   # on a throw-away cluster

``url`` is required and explicit: nothing here reads ``DATABASE_URL``, any
other variable that names a database, or a configuration file. The one
variable read is the guard's override, ``WDH_ALLOW_PRODUCTION_DOWNGRADE``,
by ``downgrade``, together with its ``confirm_database`` argument.

Failures raise :class:`Error` (a ``RuntimeError``) or one of its
subclasses, one per exit code of the ``wdh-migrate`` command:
:class:`Blocked` (3), :class:`ChecksFailed` (4), :class:`LockTimeout` (5),
:class:`ConfigError` (2), :class:`MigrationFailed` and
:class:`DatabaseError` (1). Their messages are the command's, passwords
redacted. Warnings of a run (an override used, drift allowed) are logged on
the ``wdh_migrate`` logger and listed in the result.

The pytest plugin (``wdh_migrate.pytest_plugin``, registered on install)
provides the fixtures ``wdh_database``, ``wdh_empty_database`` and
``wdh_server``; ``wdh_migrate.testing`` holds the harness they are built on.
"""

from wdh_migrate._native import (
    Blocked,
    CheckResult,
    ChecksFailed,
    ConfigError,
    DatabaseError,
    Error,
    LockTimeout,
    MigrationCheck,
    MigrationFailed,
    MigrationFailure,
    MigrationStatus,
    RunResult,
    Status,
    Step,
    __version__,
    check,
    downgrade,
    status,
    upgrade,
)

__all__ = [
    "Blocked",
    "CheckResult",
    "ChecksFailed",
    "ConfigError",
    "DatabaseError",
    "Error",
    "LockTimeout",
    "MigrationCheck",
    "MigrationFailed",
    "MigrationFailure",
    "MigrationStatus",
    "RunResult",
    "Status",
    "Step",
    "__version__",
    "check",
    "downgrade",
    "status",
    "upgrade",
]
