"""The real pieces, started by the tests: a scratch database on the local
PostgreSQL server, the GTF simulator, gtf-bff and its demo web app, each
the built binary on a free loopback port, with freshly generated secrets and
nothing from the developer's environment or .env."""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "target" / "browser-test"
LOGS = ARTIFACTS / "logs"
# What a log line must never carry: a JWT, or a NIK (16 digits, not part
# of a longer number such as a latency).
LEAKS = {"a JWT": re.compile(r"eyJ[\w-]+\.eyJ"), "a NIK": re.compile(r"(?<![\d.])\d{16}(?![\d.])")}
STARTUP_TIMEOUT_S = 30


def binary() -> Path:
    if "GTF_BFF_BIN" in os.environ:
        return Path(os.environ["GTF_BFF_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "debug" / "gtf-bff"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Database:
    """A database of its own on DATABASE_URL's server (by default the local
    one), dropped when the stack closes."""

    def __init__(self) -> None:
        server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        parts = urllib.parse.urlsplit(server)
        self.name = f"gtf_browser_{uuid.uuid4().hex[:12]}"
        self.admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
        self.url = urllib.parse.urlunsplit(parts._replace(path=f"/{self.name}"))
        self._psql(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        self._psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _psql(self, sql: str) -> None:
        subprocess.run(
            ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", self.admin, "-c", sql],
            check=True,
            capture_output=True,
        )


class Process:
    """One `gtf-bff <command>`, in an empty directory (so no .env is read),
    logging to target/browser-test/logs/."""

    def __init__(self, name: str, command: str, env: dict[str, str], ready_url: str) -> None:
        self.name, self.command, self.env, self.ready_url = name, command, env, ready_url
        self.popen: subprocess.Popen | None = None

    def start(self, workdir: Path) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = (LOGS / f"{self.name}.log").open("ab")
        self.popen = subprocess.Popen(
            [str(binary()), self.command], cwd=workdir, env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not answers(self.ready_url):
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}; see {LOGS}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} never answered {self.ready_url}; see {LOGS}")
            time.sleep(0.05)

    def stop(self) -> None:
        """As an operator would: SIGTERM, then wait for it to exit."""
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class Stack:
    """The simulator, the service and the demo, wired to each other. `env`
    overrides or adds variables for all three."""

    def __init__(self, name: str, **env: str) -> None:
        ports = {
            "sim": free_port(),
            "api": free_port(),
            "metrics": free_port(),
            "demo": free_port(),
        }
        self.sim_url = f"http://127.0.0.1:{ports['sim']}"
        self.api_url = f"http://127.0.0.1:{ports['api']}"
        self.demo_url = f"http://127.0.0.1:{ports['demo']}"
        self.jwt_secret = secrets.token_urlsafe(36)
        callback = f"bearer:{secrets.token_urlsafe(36)}"
        data_key = base64.b64encode(secrets.token_bytes(32)).decode()
        pass_key = secrets.token_urlsafe(24)
        self._secrets = [self.jwt_secret, callback.removeprefix("bearer:"), data_key, pass_key]
        self.db = Database()
        self._workdir = tempfile.TemporaryDirectory(prefix="gtf-bff-browser-")
        common = {
            "PATH": os.environ["PATH"],
            "LOG_FORMAT": "json",
            "RUST_LOG": "info",
            "GTF_CLIENT_ID": "browser-test-client",
            "GTF_PASS_KEY": pass_key,
            "AUTH_JWT_SECRET": self.jwt_secret,
        }
        sim = {
            "SIM_LISTEN_ADDR": f"127.0.0.1:{ports['sim']}",
            "SIM_CALLBACK_URL": f"{self.api_url}/coe/submissions-callback",
            "SIM_CALLBACK_AUTH": callback,
            "SIM_PROCESSING_MS": "2000",
            "SIM_CORS_ALLOWED_ORIGINS": self.demo_url,
        }
        service = {
            "DATABASE_URL": self.db.url,
            "BFF_LISTEN_ADDR": f"127.0.0.1:{ports['api']}",
            # Stacks run side by side: each its own metrics listener.
            "METRICS_LISTEN_ADDR": f"127.0.0.1:{ports['metrics']}",
            "CORS_ALLOWED_ORIGINS": self.demo_url,
            "GTF_TOKEN_BASE_URL": self.sim_url,
            "GTF_API_BASE_URL": self.sim_url,
            "GTF_ONBOARDING_PARTNER": "BROWSER-BE-COE_KTP_SCAN",
            "GTF_PARTNER_USER_ID_TYPE": "BROWSER_USER_ID",
            "CALLBACK_AUTH": callback,
            "BFF_DATA_KEY": data_key,
            # A submission without a callback is polled soon, not after 10 minutes.
            "RECONCILE_AFTER_SECS": "2",
            "RECONCILE_INTERVAL_SECS": "1",
            "SHUTDOWN_GRACE_SECS": "2",
        }
        demo = {"DEMO_LISTEN_ADDR": f"127.0.0.1:{ports['demo']}", "DEMO_API_URL": self.api_url}
        self.sim = Process(f"{name}-sim", "sim", common | sim | env, f"{self.sim_url}/_sim/stats")
        self.service = Process(f"{name}-serve", "serve", common | service | env, f"{self.api_url}/readyz")
        self.demo = Process(f"{name}-demo", "demo", common | demo | env, f"{self.demo_url}/")

    def start(self) -> "Stack":
        for process in (self.sim, self.service, self.demo):
            process.start(Path(self._workdir.name))
        return self

    def stop_service(self) -> None:
        self.service.stop()

    def restart_service(self) -> None:
        """The service back on the same port, as after a deploy."""
        self.service.start(Path(self._workdir.name))

    def close(self) -> None:
        for process in (self.demo, self.service, self.sim):
            process.stop()
        self.db.drop()
        self._workdir.cleanup()

    def leaks(self) -> list[str]:
        """What its processes' logs carry that they never may."""
        found = []
        for process in (self.sim, self.service, self.demo):
            text = (LOGS / f"{process.name}.log").read_text()
            found += [f"{process.name}: a secret" for secret in self._secrets if secret in text]
            found += [f"{process.name}: {what}" for what, pattern in LEAKS.items() if pattern.search(text)]
        return found

    def problem_codes(self) -> list[str]:
        """Every `code` a problem body can carry, from the service's OpenAPI."""
        with urllib.request.urlopen(f"{self.api_url}/openapi.json") as response:
            document = json.load(response)
        return document["components"]["schemas"]["ProblemCode"]["enum"]

    def jwt(self, sub: str, expires_in_s: int) -> str:
        """A token as the partner's identity provider would sign it (HS256)."""
        def part(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        now = int(time.time())
        header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = part(json.dumps({"sub": sub, "iat": now, "exp": now + expires_in_s}).encode())
        signature = hmac.new(self.jwt_secret.encode(), f"{header}.{claims}".encode(), hashlib.sha256)
        return f"{header}.{claims}.{part(signature.digest())}"
