"""`make demo`'s headings (scripts/headings.sh): bold on a terminal, plain with NO_COLOR or in a pipe.

The demo itself runs where README.md shows it: tests/test_docs.py runs `make demo` into a pipe,
exactly as documented, and checks its story (drift found with exit 1, fixed, clean again, its
moto server stopped). Here only the styling, on a real terminal (a pty), which takes no AWS.
"""

from __future__ import annotations

import os
import pty
import subprocess

import pytest

from tests.conftest import ROOT

BOLD_HEADING = b"\x1b[1m== a heading\x1b[0m"
HEADING = "source scripts/headings.sh; step 'a heading'; show echo shown"


def on_a_terminal(env: dict[str, str]) -> bytes:
    """What the heading functions write to a pseudo-terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(["bash", "-c", HEADING], cwd=ROOT, env={**os.environ, **env},
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0, output
    return output


def test_headings_are_bold_on_a_terminal() -> None:
    output = on_a_terminal({"NO_COLOR": ""})  # set but empty counts as unset (no-color.org)
    assert BOLD_HEADING in output and b"$ echo shown\r\nshown" in output


@pytest.mark.parametrize("value", ["1", "true"])
def test_headings_are_plain_on_a_terminal_with_no_color(value: str) -> None:
    output = on_a_terminal({"NO_COLOR": value})
    assert b"\n== a heading\r\n" in output and b"\x1b[" not in output


def test_headings_are_plain_in_a_pipe() -> None:
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    result = subprocess.run(["bash", "-c", HEADING], cwd=ROOT, env=env, capture_output=True, check=True)
    assert result.stdout == b"\n== a heading\n$ echo shown\nshown\n"
