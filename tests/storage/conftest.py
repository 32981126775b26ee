"""Fixtures for the storage tests: a private journal key, and a real PostgreSQL server that the
tests start in a temporary folder and stop again (Debian's ``postgresql`` package, installed
by ``make postgres``)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest


@pytest.fixture(autouse=True)
def journal_key(tmp_path_factory, monkeypatch):
    """Every storage test signs with a key of its own session (inherited by subprocesses)."""
    key = tmp_path_factory.getbasetemp() / "journal.key"
    monkeypatch.setenv("LOWFI_JOURNAL_KEY_FILE", str(key))
    return key


def _pg_bin() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(os.path.realpath(initdb))
    pytest.fail("PostgreSQL server programs (initdb, pg_ctl) not found: run `make postgres` "
                "(installs Debian's postgresql package)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """``postgresql://lowfi@127.0.0.1:PORT`` of a server started for this test session."""
    pytest.importorskip("sqlalchemy")
    pytest.importorskip("psycopg")
    bindir = _pg_bin()
    folder = tempfile.mkdtemp(prefix="lowfi-pg-")
    data = os.path.join(folder, "data")
    kw: dict = {}
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        import pwd

        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        kw = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
    env = {**os.environ, "HOME": folder, "LC_ALL": "C"}
    port = _free_port()
    run = dict(check=True, capture_output=True, env=env, cwd=folder, timeout=120, **kw)
    subprocess.run([os.path.join(bindir, "initdb"), "-D", data, "-U", "lowfi", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], **run)
    subprocess.run([os.path.join(bindir, "pg_ctl"), "-D", data, "-w", "-t", "60", "-l",
                    os.path.join(folder, "log"), "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c max_connections=50", "start"], **run)
    try:
        yield f"postgresql://lowfi@127.0.0.1:{port}"
    finally:
        subprocess.run([os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "-w",
                        "stop"], **{**run, "check": False})
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the test server."""
    import psycopg

    name = "t" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"{postgres_server}/{name}"
