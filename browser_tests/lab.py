"""Start and stop a JupyterLab server the way `make lab` does, on a scratch copy of the course.

The server runs in a temporary copy of the repository (lessons, exercises, solutions, the
nbgrader configuration...), so running notebooks and typing answers in the browser never touches
the committed files. Its settings, workspaces and runtime files live in the same temporary
folder, so no user state leaks in or out; the nbgrader extension and the `python3` kernel are
still found in .venv, through sys.prefix.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# What is not copied into the scratch course: tooling, caches and anything generated.
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "grading",
    "screenshots",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    ".nbgrader.log",
)

# User settings written into the scratch settings folder. They only keep JupyterLab quiet and
# the scratch copy unchanged: no "would you like news?" toast and no update check (this machine
# has no internet), and no autosave.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 20


def makefile_default_url() -> str:
    """The default URL of the Makefile's `lab` target, so that the tests follow it."""
    text = (REPO / "Makefile").read_text()
    match = re.search(r"^lab:.*\n\t(.*)$", text, flags=re.MULTILINE)
    recipe = match.group(1) if match else ""
    url = re.search(r"--LabApp\.default_url=(\S+)", recipe)
    return url.group(1) if url else "/lab/tree/lessons"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """One JupyterLab server on 127.0.0.1, with a token, serving a scratch copy of the course."""

    def __init__(self, scratch: Path, log_path: Path):
        self.scratch = scratch
        self.root = scratch / "course"
        self.log_path = log_path
        self.token = secrets.token_hex(24)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.default_url = makefile_default_url()
        self.proc: subprocess.Popen | None = None
        self._log = None

    # -- life cycle ---------------------------------------------------------------------------

    def prepare(self) -> None:
        shutil.copytree(REPO, self.root, ignore=NOT_COPIED)
        for rel, values in USER_SETTINGS.items():
            path = self.scratch / "settings" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values, indent=2))
        for name in ("workspaces", "runtime", "config", "data"):
            (self.scratch / name).mkdir(exist_ok=True)

    def command(self) -> list[str]:
        # The flags of the Makefile's `lab` target, then a fixed port, a token and scratch folders.
        cmd = [str(Path(sys.prefix) / "bin" / "jupyter"), "lab", "--no-browser"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd + [
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.default_url={self.default_url}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--LabApp.user_settings_dir={self.scratch / 'settings'}",
            f"--LabApp.workspaces_dir={self.scratch / 'workspaces'}",
        ]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                # User-level Jupyter folders point into the scratch folder; the system and
                # sys.prefix ones (.venv/etc/jupyter, .venv/share/jupyter) stay on the path.
                "JUPYTER_CONFIG_DIR": str(self.scratch / "config"),
                "JUPYTER_DATA_DIR": str(self.scratch / "data"),
                "JUPYTER_RUNTIME_DIR": str(self.scratch / "runtime"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_CONFIG_PATH", None)
        return env

    def start(self) -> None:
        self.prepare()
        self._log = open(self.log_path, "w")  # closed in stop()
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.root,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its kernels share its process group, for the last resort
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with status {self.proc.returncode} while starting:\n"
                    + self.log_tail()
                )
            try:
                self.api("GET", "/api/status")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"JupyterLab did not answer /api/status within {START_TIMEOUT_S} s:\n" + self.log_tail()
        )

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.shutdown_kernels()
            except (OSError, urllib.error.URLError):
                pass
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                # The server and any kernel it left behind: its own process group, nothing else.
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(STOP_TIMEOUT_S)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- helpers ------------------------------------------------------------------------------

    def api(self, method: str, path: str, timeout: float = 10):
        req = urllib.request.Request(
            self.base + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every session's kernel (each lesson starts its own; 2 cores, bounded RAM)."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"
