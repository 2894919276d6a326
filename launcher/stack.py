"""The service's processes on one machine: emulator, web, workers, sweeper, reconciler."""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import dj_database_url
import httpx

from launcher.callouts import callout_definitions
from launcher.processes import ROOT, Supervisor, free_port, manage, python_command


@dataclass
class StackConfig:
    """What to start and where; defaults suit a laptop (SQLite, one worker)."""

    var_dir: Path = ROOT / "var"
    database_url: str = ""
    web_port: int = 8000
    web_workers: int = 2
    # Threads per web process; None: 32 on PostgreSQL, where they share a pool
    # of `web_pool_size` connections per process, else 8. Without a pool each
    # thread keeps a connection open for up to a minute, and granian's default
    # (hundreds under a burst of callouts) exhausts PostgreSQL's connection limit.
    web_threads: int | None = None
    web_pool_size: int = 8
    workers: int = 1
    # On PostgreSQL a sync_worker's threads share a pool of this many connections:
    # a sync holds one for its claim and its writes, not while Zuora answers.
    # With 8, at 100 changes/s, a tenth of the 24 threads' requests for one
    # waited (27 ms on average); with 16, about 1.5 %, as the pool grew.
    worker_pool_size: int = 16
    # None: sync_worker's own default (1 s on PostgreSQL, woken by NOTIFY; 0.2 s on SQLite).
    worker_interval: float | None = None
    emulator: bool = True
    emulator_port: int = 8081
    emulator_accounts: int = 50
    seed: int = 7
    # Zuora itself, when not emulated.
    zuora_base_url: str = ""
    zuora_client_id: str = ""
    zuora_client_secret: str = ""
    callout_username: str = "zuora"
    callout_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    # Send the credentials with the first request, as docs/zuora_callouts.md
    # tells a Zuora admin to. False is Zuora's default: each callout is first
    # answered 401 (and logged as refused), then resent with the credentials.
    callout_preemptive: bool = True
    reconcile_interval: float = 300.0
    sweep_interval: float = 10.0
    # "database" (django-tasks-db) or "redis" (django-tasks-redis at redis_url).
    tasks_backend: str = "database"
    redis_url: str = ""
    redis_key_prefix: str = ""
    # Zuora's callout retries: attempts in total, and seconds between them.
    callout_attempts: int = 3
    callout_interval: float = 2.0
    # Collect and serve the admin's static files (off for runs that share the folder).
    static_files: bool = True
    # Which long-running processes to start (a benchmark measures some alone).
    web: bool = True
    sweeper: bool = True
    reconciler: bool = True
    # Off: production mode (needs SECRET_KEY in extra_environment).
    debug: bool = True
    extra_environment: dict[str, str] = field(default_factory=dict)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"


class Stack:
    """Starts and stops every process of the service, in order."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        if config.emulator:
            config.zuora_base_url = config.emulator_url
            config.zuora_client_id = config.zuora_client_id or f"emulator-client-{config.seed}"
            config.zuora_client_secret = config.zuora_client_secret or secrets.token_hex(16)
        self.supervisor = Supervisor(self.environment(), config.var_dir / "logs")

    def environment(self) -> dict[str, str]:
        config = self.config
        metrics_dir = config.var_dir / "metrics"
        environment = {
            **os.environ,
            "DEBUG": "1" if config.debug else "0",
            "LOG_FORMAT": "json",
            "ZUORA_BASE_URL": config.zuora_base_url,
            "ZUORA_CLIENT_ID": config.zuora_client_id,
            "ZUORA_CLIENT_SECRET": config.zuora_client_secret,
            "ZUORA_CALLOUT_CREDENTIALS": f"{config.callout_username}:{config.callout_password}",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "PORTAL_BASE_URL": config.web_url,
            "TASKS_BACKEND": config.tasks_backend,
            # Invitations beside this run's logs (the SMTP settings win when set).
            "EMAIL_FILE_PATH": os.environ.get("EMAIL_FILE_PATH") or str(config.var_dir / "mail"),
            **config.extra_environment,
        }
        if config.redis_url:
            environment["TASKS_REDIS_URL"] = config.redis_url
        if config.redis_key_prefix:
            environment["TASKS_REDIS_KEY_PREFIX"] = config.redis_key_prefix
        if config.database_url:
            environment["DATABASE_URL"] = config.database_url
        return environment

    def start(self, *, backfill: bool = True) -> None:
        """Start everything; returns once the web server and the emulator answer."""
        config = self.config
        # The processes of one run share this directory for /metrics.
        metrics_dir = config.var_dir / "metrics"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()
        if config.emulator:
            self._start_emulator()
        self.supervisor.run("migrate", manage("migrate", "--no-input", "-v", "0"))
        if config.static_files:
            self.supervisor.run(
                "collectstatic", manage("collectstatic", "--no-input", "-v", "0", "--clear")
            )
        if config.emulator:
            self.route_callouts()
        if backfill:
            self.supervisor.run("backfill", manage("zuora_sync", "--full"))
        if config.web:
            self._start_web()
        for name in self.worker_names:
            self._start_worker(name)
        if config.sweeper:
            self.supervisor.start(
                "sweeper",
                manage("sync_sweeper", "--loop", "--interval", str(config.sweep_interval)),
            )
        if config.reconciler:
            self.supervisor.start(
                "reconciler",
                manage("zuora_sync", "--watch", "--interval", str(config.reconcile_interval)),
            )

    @property
    def worker_names(self) -> list[str]:
        return [f"worker-{number + 1}" for number in range(self.config.workers)]

    def worker_command(self, name: str) -> list[str]:
        """The task worker of the configured backend; each start gets a new worker id."""
        if self.config.tasks_backend == "redis":
            return manage("run_redis_tasks", "--continuous", "--claim-interval", "10")
        worker_id = f"{name}-{secrets.token_hex(4)}"
        interval = self.config.worker_interval
        return manage(
            "sync_worker",
            *(["--interval", str(interval)] if interval is not None else []),
            "--worker-id",
            worker_id,
        )

    def restart_worker(self, name: str) -> None:
        """Start a worker again after it was killed, as a process supervisor would."""
        self._start_worker(name)

    def _start_worker(self, name: str) -> None:
        pooled = self.config.tasks_backend != "redis" and self._on_postgres()
        environment = self._pool(self.config.worker_pool_size) if pooled else {}
        self.supervisor.start(name, self.worker_command(name), environment=environment)

    def web_connections(self) -> int:
        """How many database connections the web processes hold at most (PostgreSQL)."""
        return self.config.web_workers * int(
            self._pool(self.config.web_pool_size)["DATABASE_POOL_SIZE"]
        )

    def _pool(self, size: int) -> dict[str, str]:
        """A process's connection pool: DATABASE_POOL_SIZE when set for the stack, else `size`."""
        chosen = self.supervisor.environment.get("DATABASE_POOL_SIZE") or str(size)
        return {"DATABASE_POOL_SIZE": chosen}

    def _start_emulator(self) -> None:
        config = self.config
        self.supervisor.start(
            "emulator",
            python_command(
                "-m",
                "zuora_emulator",
                "--port",
                str(config.emulator_port),
                "--seed",
                str(config.seed),
                "--accounts",
                str(config.emulator_accounts),
                "--client-id",
                config.zuora_client_id,
                "--client-secret",
                config.zuora_client_secret,
                "--callout-attempts",
                str(config.callout_attempts),
                "--callout-interval",
                str(config.callout_interval),
                "--log-level",
                "warning",
            ),
        )
        self.supervisor.wait_for_http("emulator", f"{config.emulator_url}/_emulator/health")

    def _start_web(self) -> None:
        config = self.config
        environment = {}
        threads = config.web_threads or 8
        if self._on_postgres():
            # More threads than connections: a callout holds a connection only
            # while its batch is written, and a larger batch per commit is
            # what lets a web process record more callouts per second.
            threads = config.web_threads or 32
            environment = self._pool(config.web_pool_size)
        static = (
            ["--static-path-route", "/static", "--static-path-mount", str(ROOT / "var" / "static")]
            if config.static_files
            else []
        )
        self.supervisor.start(
            "web",
            [
                str(Path(python_command()[0]).with_name("granian")),
                "--interface",
                "wsgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(config.web_port),
                "--workers",
                str(config.web_workers),
                "--blocking-threads",
                str(threads),
                *static,
                "--no-ws",
                "config.wsgi:application",
            ],
            environment=environment,
        )
        self.supervisor.wait_for_http("web", f"{config.web_url}/healthz")

    def _on_postgres(self) -> bool:
        # The settings read DATABASE_URL with dj-database-url (an empty one is SQLite).
        url = self.supervisor.environment.get("DATABASE_URL", "").strip()
        return bool(url) and dj_database_url.parse(url)["ENGINE"] == "django.db.backends.postgresql"

    def route_callouts(self) -> None:
        """Point the emulator's notification definitions at our endpoints."""
        config = self.config
        for definition in callout_definitions(
            config.web_url,
            username=config.callout_username,
            password=config.callout_password,
            preemptive=config.callout_preemptive,
        ):
            httpx.post(
                f"{config.emulator_url}/_emulator/notification-definitions",
                json=definition,
                timeout=10,
            ).raise_for_status()

    def stop(self) -> None:
        self.supervisor.stop()


def pick_ports(config: StackConfig) -> StackConfig:
    """Use free ports instead of the defaults (tests, and a demo beside a running service)."""
    config.web_port = free_port()
    config.emulator_port = free_port()
    return config
