"""Running the command line in this process and reading the one line it stops with."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from api.cli import app


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused start printed, after checking the exit status and that nothing else came."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str,
            **env: str) -> str:
    """The same entry point in this process (quicker than a new one): the line it printed on stderr."""
    for name in [k for k in os.environ if k.startswith("STUDIO_")]:
        monkeypatch.delenv(name)
    for name, value in {"STUDIO_DATA_DIR": str(tmp_path), **env}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        app(list(args), prog_name="studio-ledger")
    out, err = capsys.readouterr()
    return one_line(subprocess.CompletedProcess(args, stopped.value.code, out, err))
