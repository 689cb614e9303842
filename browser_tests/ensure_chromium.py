"""Make sure the Chromium the browser tests drive is installed: `python -m browser_tests.ensure_chromium`.

The tests use Debian's `chromium` package (/usr/bin/chromium), not Playwright's own browser
download. If it is missing and this runs as root where apt-get exists (a CI container), it is
installed. Otherwise a message says how to install it, and the exit status is 0 so that the
browser tests are skipped with that reason; under CI=true a missing browser is an error (exit 1),
so that CI never passes without having run them.

Set CHROMIUM_PATH to use another Chromium or Chrome binary.

The Japanese lessons need a font with Japanese glyphs (Debian's `fonts-noto-cjk`); it is
installed the same way when `fc-list :lang=ja` finds none, and the test that renders a Japanese
lesson is skipped (an error under CI=true) while there is none.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools.system_packages import apt_install, can_apt, in_ci

DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
JAPANESE_FONT_PACKAGE = "fonts-noto-cjk"

# Headless, no GPU, and nothing that phones home: without the background-networking flags
# Chromium tries to reach Google's hosts, which a CI machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> Path | None:
    """The Chromium binary to drive, or None when it is not installed."""
    path = Path(os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def missing_message() -> str:
    where = os.environ.get("CHROMIUM_PATH") or str(DEFAULT_CHROMIUM)
    return (
        f"Chromium is not installed at {where}. Install it with `sudo apt-get install chromium` "
        "(Debian; on Ubuntu the `chromium` package comes from snap), or set CHROMIUM_PATH to a "
        "Chromium or Chrome binary, then run `make test-browser` again."
    )


def japanese_fonts() -> list[str]:
    """The installed fonts that cover Japanese (`fc-list :lang=ja`), [] without fontconfig."""
    if shutil.which("fc-list") is None:
        return []
    try:
        done = subprocess.run(
            ["fc-list", ":lang=ja", "family"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return sorted({line.strip() for line in done.stdout.splitlines() if line.strip()})


def ensure_japanese_font() -> None:
    if japanese_fonts():
        return
    if can_apt():
        print(f"No Japanese font; installing Debian's {JAPANESE_FONT_PACKAGE} for the ja lessons")
        apt_install(JAPANESE_FONT_PACKAGE)
    if not japanese_fonts():
        print(
            f"warning: no Japanese font (`sudo apt-get install {JAPANESE_FONT_PACKAGE}`): the "
            "browser test of a Japanese lesson will be skipped"
        )


def version(path: Path) -> str:
    try:
        done = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"(could not run it: {err})"
    return done.stdout.strip() or done.stderr.strip()


def main() -> int:
    found = chromium_path()
    if found is None and not os.environ.get("CHROMIUM_PATH"):
        if can_apt():
            print("Chromium is missing; installing Debian's chromium package for the browser tests")
            apt_install("chromium")
            found = chromium_path()
        else:
            why = "not root" if os.geteuid() != 0 else "no apt-get"
            print(f"({why}: not installing Chromium automatically)")
    if found is not None:
        print(f"browser tests: using {found}: {version(found)}")
        ensure_japanese_font()
        return 0
    if in_ci():
        print(f"error: CI=true and the browser tests cannot run. {missing_message()}")
        return 1
    print(f"warning: the browser tests (browser_tests/) will be skipped. {missing_message()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
