"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl on a free loopback port in a temp folder.

Uses Debian's server binaries (``make test`` installs the ``postgresql`` package when they are
missing). PostgreSQL refuses to run as root, so as root the cluster runs as the ``postgres`` system
user that the package creates. A test that needs the server and cannot start it fails; it never skips.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    database: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def env(self) -> dict[str, str]:
        """The variables profiles.yml reads for the postgres target."""
        return {
            "PIPELINE_PG_HOST": self.host,
            "PIPELINE_PG_PORT": str(self.port),
            "PIPELINE_PG_USER": self.user,
            "PIPELINE_PG_PASSWORD": "",
            "PIPELINE_PG_DATABASE": self.database,
        }


def _server_bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise RuntimeError(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): run `make test`, which "
            "installs Debian's postgresql package, or `apt-get install postgresql`"
        )
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayCluster:
    def __init__(self) -> None:
        self.bin_dir = _server_bin_dir()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="pg-test-"))
        self.data_dir = self.root / "data"
        self.port = _free_port()

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = list(args)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def start(self) -> PostgresServer:
        if self.as_root:
            shutil.chown(self.root, user="postgres", group="postgres")
        os.chmod(self.root, 0o700)
        initdb = self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed: {initdb.stderr or initdb.stdout}")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        if started.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr or started.stdout}\n{log}")
        created = self._run(
            str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "warehouse"
        )
        if created.returncode != 0:
            raise RuntimeError(f"createdb failed: {created.stderr}")
        return PostgresServer(host="127.0.0.1", port=self.port, user="postgres", database="warehouse")

    def require_password(self, user: str) -> None:
        """Loopback logins of ``user`` need its password (scram); every other login stays trusted."""
        hba = self.data_dir / "pg_hba.conf"
        # The first matching line wins: the rule goes before initdb's trust lines. Rewritten in place, so
        # the file keeps its owner (the server's user) when the tests run as root.
        with open(hba, "r+") as handle:
            rules = handle.read()
            handle.seek(0)
            handle.write(f"host all {user} 127.0.0.1/32 scram-sha-256\n{rules}")
        reloaded = self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "reload")
        if reloaded.returncode != 0:
            raise RuntimeError(f"pg_ctl reload failed: {reloaded.stderr}")

    def stop(self) -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
