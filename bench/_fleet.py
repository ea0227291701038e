"""The Kafka deployment as local processes: started with setsid, SIGKILLed and restarted by their own PIDs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# The processes of docker-compose.yml and their commands (the sweeper sweeps every 2 s here).
COMMANDS: dict[str, list[str]] = {
    "api": ["serve"],
    "projector": ["projector"],
    "relay": ["relay"],
    "consume": ["consume"],
    "results": ["results"],
    "worker": ["worker"],
    "sweeper": ["sweep", "--loop", "--interval", "2"],
}


def cli() -> str:
    """The `studio-ledger` script beside this interpreter."""
    return str(Path(sys.executable).with_name("studio-ledger"))


@dataclass
class Fleet:
    """One process per name, each in its own session, logging to ``<logs>/<name>.log`` (appended on restart)."""

    env: dict[str, str]
    logs: Path
    commands: dict[str, list[str]] = field(default_factory=lambda: dict(COMMANDS))
    envs: dict[str, dict[str, str]] = field(default_factory=dict)  # a process's own settings over ``env``
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: dict[str, int] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)
    exits: list[tuple[str, int]] = field(default_factory=list)  # (name, code) of exits nobody asked for

    def start(self, name: str) -> subprocess.Popen[bytes]:
        """Start ``name`` (setsid); its PID is the only one this fleet will ever signal for it."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as out:
            out.write(f"\n=== start {self.starts.get(name, 0) + 1} at {time.time():.3f}\n".encode())
            out.flush()
            process = subprocess.Popen([cli(), *self.commands[name]], env={**self.env, **self.envs.get(name, {})},
                                       stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        self.starts[name] = self.starts.get(name, 0) + 1
        return process

    def start_all(self) -> None:
        """Start every process."""
        for name in self.commands:
            self.start(name)

    def kill(self, name: str) -> None:
        """SIGKILL the process ``name`` by its PID and reap it."""
        process = self.processes[name]
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.kills[name] = self.kills.get(name, 0) + 1

    def revive(self) -> list[str]:
        """Restart every process that exited on its own (noting its exit code); the names restarted."""
        restarted = []
        for name, process in list(self.processes.items()):
            code = process.poll()
            if code is not None:
                self.exits.append((name, code))
                self.start(name)
                restarted.append(name)
        return restarted

    def stop_all(self, within: float = 30.0) -> None:
        """SIGTERM every process by PID, then SIGKILL any still running after ``within`` seconds."""
        for process in self.processes.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + within
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def tail(self, name: str, lines: int = 20) -> str:
        """The last lines of a process's log."""
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
