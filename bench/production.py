"""Production mode in child processes, for the production browser test and the load test.

It runs what `make serve` runs (the Procfile's `web` and `worker` commands, after `migrate`
and `collectstatic`) with DEBUG off, on a free port of 127.0.0.1, against the database and
cache it is given; any number of web servers and workers, each its own process group, which
`stop()` ends.
"""

import base64
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Variables a developer's shell or the test run may carry that production mode must not see.
NOT_INHERITED = {"DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE",
                 "TEST_DATABASE_NAME", "PROMETHEUS_MULTIPROC_DIR"}


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def signing_key() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return base64.b64encode(raw).decode()


def recreate_postgresql_database(url: str) -> None:
    """An empty database at `url` (PostgreSQL), dropping one of that name first."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_postgresql_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


@dataclass
class ProductionServer:
    database_url: str
    cache_url: str = "db://"
    web_servers: int = 1
    workers: int = 1
    web_concurrency: int = 2
    root: Path = ROOT  # the checkout to serve (bench/page_cpu.py serves an older one beside)
    extra_env: dict = field(default_factory=dict)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="production-")))
    ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def environment(self, **more) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env.update(
            DEBUG="false",
            SECRET_KEY=self._secret("secret-key", lambda: secrets.token_urlsafe(50)),
            AUDITLOG_SIGNING_KEY=self._secret("signing-key", signing_key),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # Plain http on loopback: no redirect to https, cookies without the Secure flag.
            SECURE_SSL_REDIRECT="false",
            SECURE_COOKIES="false",
            SECURE_HSTS_SECONDS="0",
            DATABASE_URL=self.database_url,
            CACHE_URL=self.cache_url,
            STATIC_ROOT=str(self.workdir / "static"),
            WEB_CONCURRENCY=str(self.web_concurrency),
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        env.update(more)
        return env

    def manage(self, *args: str, timeout: int = 600) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=self.root, env=self.environment(),
            capture_output=True, text=True, timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def prepare(self, seed: bool = True) -> None:
        """What `make serve` does before starting (and the demo data, for a person to use)."""
        self.manage("migrate", "--no-input")
        self.manage("collectstatic", "--no-input", "--verbosity", "0")
        if seed:
            self.manage("seed_demo")

    def start(self) -> None:
        commands = procfile()
        for index in range(self.web_servers):
            port = free_port()
            self.ports.append(port)
            self._spawn(f"web{index + 1}", commands["web"], HOST=f"127.0.0.1:{port}")
        for index in range(self.workers):
            self._spawn(f"worker{index + 1}", commands["worker"])
        for url in self.urls:
            self._wait_until_healthy(url)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def kill_worker(self, index: int = 0) -> None:
        """SIGKILL a worker's whole process group, as a crash or the OOM killer would."""
        workers = [p for p in self.processes if p.args[-1].endswith("qcluster")]
        os.killpg(workers[index].pid, signal.SIGKILL)
        workers[index].wait()

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def _spawn(self, name: str, command: str, **env) -> None:
        output = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115  (the child's stdout)
        self.processes.append(
            subprocess.Popen(
                shlex.split(command), cwd=self.root, env=self.environment(**env),
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            )
        )

    def _wait_until_healthy(self, url: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{url} did not answer /healthz in {seconds} s:\n{self.log('web1')}")

    def _secret(self, name: str, make) -> str:
        path = self.workdir / name
        if not path.exists():
            path.write_text(make())
        return path.read_text()
