"""What a test waits for its database, reported at the end of the run
(``wdh-migrate: per-test database cost``), not asserted: a checkout from
the warm pool (README: under 5 ms), a fresh clone of the template (under
20 ms), an empty database."""

import time

N = 30
BODY = 0.02  # seconds: a short test body, time for the pool to refill


def record(request, label, started):
    request.node.user_properties.append(
        ("wdh_cost:" + label, (time.perf_counter() - started) * 1000.0)
    )


def test_report_pool_clone_and_empty_costs(request, wdh_server, wdh_migration_set):
    wdh_server.template(wdh_migration_set)
    # Warm the pool: the first checkout starts its refill thread.
    wdh_server.create_migrated(wdh_migration_set).close()
    time.sleep(0.5)
    for _ in range(N):
        started = time.perf_counter()
        db = wdh_server.create_migrated(wdh_migration_set)
        record(request, "bench: migrated database from the warm pool", started)
        time.sleep(BODY)
        db.close()
    for _ in range(N):
        started = time.perf_counter()
        db = wdh_server.clone_migrated(wdh_migration_set)
        record(request, "bench: migrated database cloned now (no pool)", started)
        db.close()
    for _ in range(N):
        started = time.perf_counter()
        db = wdh_server.create_database()
        record(request, "bench: empty database", started)
        db.close()
    assert wdh_server.wait_for_drops(30)
