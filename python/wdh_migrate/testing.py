"""The test harness behind the pytest plugin, for tests that want it by hand.

* :class:`TestCluster` — a private PostgreSQL cluster on a unix socket, in a
  throw-away directory, removed by ``stop()``, at exit, or by a watchdog when
  the process is killed.
* :class:`TestServer` — makes ``wdh_test_`` databases: a cluster's
  (``cluster.server``), or a server meant for tests given by its admin URL
  (``TestServer.from_admin_url(url)``, which first sweeps the test databases
  that dead processes left there).
* :class:`TestDatabase` — one test's database (``.name``, ``.url``;
  ``str()`` is the URL), dropped in the background by ``close()``.
* :class:`MigrationSet` — a migration folder loaded once; a server builds its
  template (``wdh_test_tpl_<checksum>``) on first use and hands out clones
  (``create_migrated``, from a pool of clones made ahead of demand).

Nothing here reads ``DATABASE_URL`` or any setting that names a server.
"""

from wdh_migrate._native import MigrationSet, TestCluster, TestDatabase, TestServer

__all__ = ["MigrationSet", "TestCluster", "TestDatabase", "TestServer"]
