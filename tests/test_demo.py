"""`make demo` (scripts/demo.sh): drift found, fixed and clean again, its moto server stopped;
headings styled only for a terminal, and never with NO_COLOR.

A pipe gets plain text: tests/test_docs.py runs `make demo` into a pipe, as README.md shows it,
and refuses escape codes in any documented command's output. Here the demo has a terminal (a
pty) and NO_COLOR. (A run of the demo takes 8 to 45 s, so it runs these two ways only; the plain
terminal case, bold headings, is not run.)
"""

from __future__ import annotations

import os
import pty
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOLD_HEADING = b"\x1b[1m== "  # the demo's own headings (rich styles ecrgen's table by its own rules)


def demo_on_a_terminal(env: dict[str, str]) -> bytes:
    """Everything scripts/demo.sh writes to a pseudo-terminal, until it exits (which must be 0)."""
    leader, follower = pty.openpty()
    env = {**os.environ, **env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(["bash", "scripts/demo.sh"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=follower, stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other end is closed, the demo is done
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert proc.wait(timeout=300) == 0, output.decode(errors="replace")
    return output


def test_demo_finds_drift_fixes_it_and_stops_its_server_with_plain_headings_for_no_color() -> None:
    output = demo_on_a_terminal({"NO_COLOR": "1"})
    assert BOLD_HEADING not in output
    text = output.decode().replace("\r\n", "\n")
    started, _, check, fix, clean = text.split("\n== ")[1:6]
    assert check.startswith("drift detection: --check writes nothing and exits 1 on drift")
    assert "planned" in check and "exit code: 1" in check
    assert "myapp-ecr-php-app     imageTagMutability  MUTABLE  IMMUTABLE" in fix and "2 changed" in fix
    assert '"inSync": 2' in clean and "Put" not in clean
    url = urlsplit(re.search(r"moto server on (\S+);", started).group(1))
    with pytest.raises(ConnectionRefusedError), socket.create_connection((url.hostname, url.port), timeout=5):
        pass
