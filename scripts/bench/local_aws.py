"""The local AWS of every benchmark: a moto server on 127.0.0.1 with this process's AWS
environment pointed at it (fake keys, no profile, no config files), and optionally the tests'
loopback fake in front of it for the ECR operations moto lacks (tests/implicit_fake.py)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def load_moto_local() -> Any:
    """scripts/moto_local.py, which is a script, not a package module."""
    spec = importlib.util.spec_from_file_location("moto_local", ROOT / "scripts" / "moto_local.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def start_local_aws() -> tuple[Any, Any, str]:
    """(moto_local, its server process, the endpoint URL); stop it with `moto_local.stop(proc)`."""
    moto_local = load_moto_local()
    proc, url = moto_local.start()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1",
                      AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=url, AWS_CONFIG_FILE=os.devnull,
                      AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    os.environ.pop("AWS_PROFILE", None)
    return moto_local, proc, url


def front_with_fake(url: str, page_size: int = 2) -> tuple[Any, Any]:
    """The fault proxy with the in-memory fake of the operations moto lacks (pull-through cache
    rules, creation templates, signing, account settings, pull-time exclusions) in front of
    moto at `url`, and this process's AWS_ENDPOINT_URL pointed at it: (proxy, fake). Stop the
    proxy with `proxy.stop()`."""
    import sys

    sys.path.insert(0, str(ROOT))
    from tests.fault_proxy import FaultProxy
    from tests.implicit_fake import ImplicitFake

    proxy = FaultProxy(url).start()
    os.environ["AWS_ENDPOINT_URL"] = proxy.url
    return proxy, ImplicitFake(proxy, page_size)
