"""A small supervisor: start child processes, wait until they answer, stop them all."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


def manage(*args: str) -> list[str]:
    return python_command("manage.py", *args)


@dataclass
class Supervisor:
    """Owns the processes it started; `stop()` ends every one of them."""

    environment: Mapping[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(
        self, name: str, command: Sequence[str], *, environment: Mapping[str, str] | None = None
    ) -> subprocess.Popen:
        """Start `command` in the project folder, its output going to `<log_dir>/<name>.log`.

        `environment` adds to (or overrides) the supervisor's for this process only.
        """
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(  # noqa: S603 (commands built from our own parts)
            list(command),
            cwd=ROOT,
            env={**self.environment, **(environment or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        return process

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Signal one process's group, wait for it to end and forget it (start it again by name).

        SIGKILL gives it no chance to clean up, like a machine losing power.
        """
        process = self.processes.pop(name)
        if process.poll() is None:
            _signal_group(process, signum)
        process.wait(timeout=30)

    def run(self, name: str, command: Sequence[str], *, timeout: float = 600) -> None:
        """Run a one-off command to completion; raise with its log's tail if it fails."""
        process = self.start(name, command)
        try:
            code = process.wait(timeout=timeout)
        finally:
            self.processes.pop(name, None)
        if code != 0:
            raise RuntimeError(f"{name} failed with exit code {code}:\n{self.tail(name)}")

    def wait_for_http(self, name: str, url: str, *, timeout: float = 60) -> None:
        """Poll `url` until it answers 200, failing early if the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not answer at {url} within {timeout:.0f}s")

    def check_alive(self) -> None:
        """Raise if any long-running process has died."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 20) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, *, grace: float = 10) -> None:
        """SIGTERM every process group, then SIGKILL whatever is left after `grace` seconds."""
        for process in self.processes.values():
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=5)
        self.processes.clear()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
