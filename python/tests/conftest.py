"""Helpers of the package's own suite. The fixtures under test
(``wdh_database``, ``wdh_empty_database``, ``wdh_server``) come from the
installed plugin itself."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import pytest

import wdh_migrate

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "migrations"

Files = Dict[str, Union[Tuple[str, Optional[str]], str]]


def write_set(folder: Path, migrations: Files) -> Path:
    """A folder-layout migration set: name -> (up.sql, down.sql or None)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, scripts in migrations.items():
        up, down = (scripts, None) if isinstance(scripts, str) else scripts
        d = folder / name
        d.mkdir(exist_ok=True)
        (d / "up.sql").write_text(up)
        if down is not None:
            (d / "down.sql").write_text(down)
    return folder


@pytest.fixture
def make_set(tmp_path: Path):
    """Writes a migration set under tmp_path and returns its folder."""
    counter = iter(range(1000))

    def make(migrations: Files) -> Path:
        return write_set(tmp_path / f"set{next(counter)}", migrations)

    return make


@pytest.fixture
def protected_database(wdh_server) -> Iterator[Tuple[str, str]]:
    """A database on the test's private cluster whose name does not mark it
    safe (`orders_<n>`): its name and URL."""
    name = f"orders_{os.getpid()}_{next(_numbers)}"
    wdh_server.query("postgres", f'CREATE DATABASE "{name}"')
    try:
        yield name, wdh_server.url_for(name)
    finally:
        wdh_server.query("postgres", f'DROP DATABASE "{name}" WITH (FORCE)')


_numbers = iter(range(1_000_000))


def tables(db, schema_filter: str = "NOT IN ('pg_catalog', 'information_schema')") -> List[str]:
    rows = db.query(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        f"WHERE table_schema {schema_filter} ORDER BY 1"
    )
    return [r[0] for r in rows]


def run_pytest(
    folder: Path, *args: str, env: Optional[Dict[str, str]] = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Runs pytest (with this venv's plugin) in `folder`, in a process of its own."""
    environment = dict(os.environ)
    environment.pop("PYTEST_XDIST_WORKER", None)
    environment.pop("PYTEST_XDIST_WORKER_COUNT", None)
    environment.pop("PYTEST_ADDOPTS", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip()
