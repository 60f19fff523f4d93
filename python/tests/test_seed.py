"""The incident report's own verification, as written there, against this package."""

import os
import socket
import subprocess
import sys
import threading

import pytest

import wdh_migrate


def test_the_verification_of_the_incident_report_works_as_written(tmp_path, monkeypatch):
    # No migrations folder here: the claim is judged before any file is read.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WDH_ALLOW_PRODUCTION_DOWNGRADE", raising=False)
    with pytest.raises(RuntimeError) as raised:
        wdh_migrate.downgrade("postgresql://localhost/prod_db", "base")
    assert type(raised.value) is wdh_migrate.Blocked
    assert str(raised.value).startswith(
        "BLOCKED: Refusing to downgrade potential production database.\n  Database: `prod_db`\n"
    )


def test_the_refusal_opens_no_connection(tmp_path, monkeypatch):
    # A listener that records whether anyone connects: the URL names it.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    connected = []

    def accept():
        try:
            conn, _ = listener.accept()
            connected.append(True)
            conn.close()
        except OSError:
            pass

    watcher = threading.Thread(target=accept)
    watcher.start()
    monkeypatch.chdir(tmp_path)
    try:
        with pytest.raises(wdh_migrate.Blocked):
            wdh_migrate.downgrade(f"postgresql://app@127.0.0.1:{port}/prod_db", "base")
    finally:
        watcher.join()
        listener.close()
    assert connected == []


def test_database_url_is_never_read(tmp_path, monkeypatch):
    # DATABASE_URL and WDH_DATABASE_URL name production; the explicit URL is
    # what counts, even when it cannot be reached.
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/prod_db")
    monkeypatch.setenv("WDH_DATABASE_URL", "postgresql://localhost/prod_db")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "migrations").mkdir()
    with pytest.raises(wdh_migrate.DatabaseError) as raised:
        wdh_migrate.status(f"postgresql://app@/wdh_test_x?host={tmp_path}")
    assert "wdh_test_x" in str(raised.value) and "prod_db" not in str(raised.value)
    # The API has no way to be called without a URL.
    with pytest.raises(TypeError):
        wdh_migrate.upgrade()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        wdh_migrate.downgrade(f"postgresql://app@/wdh_test_x?host={tmp_path}")  # type: ignore[call-arg]


def test_no_module_of_the_package_reads_a_database_variable():
    import wdh_migrate as package

    root = os.path.dirname(package.__file__)
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith((".py", ".pyi")):
                text = open(os.path.join(dirpath, f)).read()
                for code in [
                    'environ["DATABASE_URL"]',
                    "environ['DATABASE_URL']",
                    'getenv("DATABASE_URL"',
                    'environ.get("DATABASE_URL"',
                    "WDH_DATABASE_URL",
                ]:
                    assert code not in text, (f, code)


def test_the_console_script_is_the_cli(tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "wdh-migrate")
    assert os.access(script, os.X_OK)
    version = subprocess.run([script, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("wdh-migrate ")
    assert version.stdout.split()[1] == wdh_migrate.__version__
    blocked = subprocess.run(
        [script, "downgrade", "base", "--database-url", "postgresql://localhost/prod_db"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert blocked.returncode == 3
    assert "BLOCKED: Refusing to downgrade potential production database." in blocked.stderr
    assert "--confirm-database prod_db" in blocked.stderr
    usage = subprocess.run([script, "upgrade", "sideways"], capture_output=True, text=True)
    assert usage.returncode == 2
    module = subprocess.run(
        [sys.executable, "-m", "wdh_migrate", "--help"], capture_output=True, text=True
    )
    assert module.returncode == 0 and "Usage: wdh-migrate" in module.stdout


def test_the_console_script_s_sandbox_stops_on_sigterm_and_removes_its_cluster(tmp_path):
    """The CLI runs in the Python process: its signal handling still holds."""
    import signal
    import time

    script = os.path.join(os.path.dirname(sys.executable), "wdh-migrate")
    proc = subprocess.Popen(
        [script, "sandbox"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    root = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("sandbox: cluster in "):
            root = line.split("sandbox: cluster in ")[1].split(" (")[0]
        if line.startswith("sandbox: ready"):
            break
    assert root and os.path.isdir(root)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert f"sandbox: stopped; removed {root}" in out
    assert not os.path.exists(root)
