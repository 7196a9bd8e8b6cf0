"""Start and stop moto in server mode on 127.0.0.1: the local AWS for tests, demo and benchmarks.

As a script: `python scripts/moto_local.py start PIDFILE` prints the endpoint URL and leaves
the server running; `python scripts/moto_local.py stop PIDFILE` stops it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"  # loopback only, never anything else
# `python -m moto.server -H HOST -p PORT`, minus two costs of every request, a tenth of the
# server's time each: a log line nobody reads, and listing moto's own package folder again (its
# dispatcher does, to tell a service name from a host name).
_QUIET_SERVER = """import logging, sys
import moto.backends
logging.getLogger("werkzeug").setLevel(logging.ERROR)
modules = tuple(moto.backends.list_of_moto_modules())
moto.backends.list_of_moto_modules = lambda: modules
from moto.server import main
main(["-H", sys.argv[1], "-p", sys.argv[2]])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start(port: int | None = None, timeout: float = 30.0) -> tuple[subprocess.Popen[bytes], str]:
    """A moto server in its own process; returns it and its endpoint URL once it answers."""
    port = port or free_port()
    # Lambda resolves an image function's ImageUri in ECR, as AWS does (moto's default stub makes
    # up a digest instead).
    env = {**os.environ, "MOTO_LAMBDA_STUB_ECR": "false"}
    proc = subprocess.Popen([sys.executable, "-c", _QUIET_SERVER, HOST, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with code {proc.returncode}")
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"moto server did not answer on {url} within {timeout} s")


def reset(url: str) -> None:
    """Forget every resource: each test starts from an empty account."""
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: moto_local.py start|stop PIDFILE", file=sys.stderr)
        return 2
    pidfile = Path(argv[1])
    if argv[0] == "start":
        proc, url = start()
        pidfile.write_text(str(proc.pid))
        print(url)
        return 0
    if pidfile.exists():
        os.kill(int(pidfile.read_text()), signal.SIGTERM)
        pidfile.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
