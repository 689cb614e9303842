"""Install a Debian package the course's checks need, when it is missing and we may.

    python -m tools.system_packages COMMAND PACKAGE "what it is for"

Does nothing when COMMAND is on PATH. Otherwise, as root where apt-get exists (a CI
container), installs PACKAGE non-interactively. Otherwise prints how to install it and
exits 0, so that the checks that need it can skip or warn; under CI=true a missing
command is an error (exit 1), so that CI never passes without it.
"""

import os
import shutil
import subprocess
import sys

APT_TIMEOUT_S = 900


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def apt_install(package: str) -> bool:
    """`apt-get update && apt-get install PACKAGE`, non-interactively; True if it worked."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = [
        ["apt-get", "-q", "update"],
        ["apt-get", "-q", "install", "-y", "--no-install-recommends", package],
    ]
    for cmd in steps:
        print("+ " + " ".join(cmd), flush=True)
        try:
            done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, timeout=APT_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as err:
            print(f"error: {' '.join(cmd)} failed: {err}", file=sys.stderr)
            return False
        if done.returncode != 0:
            print(f"error: {' '.join(cmd)} exited with {done.returncode}", file=sys.stderr)
            return False
    return True


def can_apt() -> bool:
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def ensure(command: str, package: str, purpose: str) -> int:
    if shutil.which(command) is None and can_apt():
        print(f"{command} is missing; installing Debian's {package} package for {purpose}")
        apt_install(package)
    if shutil.which(command):
        return 0
    how = f"`sudo apt-get install {package}` (Debian/Ubuntu)"
    if in_ci():
        print(
            f"error: CI=true and {command} is missing, needed for {purpose}. Install it with {how}."
        )
        return 1
    print(f"warning: {command} is missing, needed for {purpose}. Install it with {how}.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(ensure(*sys.argv[1:]))
