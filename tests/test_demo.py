"""`make demo` (scripts/demo.sh) styles its headings only for a terminal, and honours NO_COLOR.

A pipe gets plain text: tests/test_docs.py runs `make demo` into a pipe and refuses escape codes
in any documented command's output. Here the demo has a terminal (a pty) and NO_COLOR. (One
run of the demo takes 15 to 45 s, so the plain terminal case, bold headings, is not run.)
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

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


def test_demo_headings_are_plain_on_a_terminal_with_no_color() -> None:
    output = demo_on_a_terminal({"NO_COLOR": "1"})
    assert b"== drift detection: --check writes nothing and exits 1 on drift" in output
    assert BOLD_HEADING not in output
