"""A fault-injecting reverse proxy on 127.0.0.1, between boto3 and the local moto server.

Point `AWS_ENDPOINT_URL` at `FaultProxy.url`: every request is forwarded to moto unless the
configured `Faults` say to answer it with a throttling error, a server error, a dropped
connection (before forwarding, or after it so that the call is made but its reply lost) or a
delay, or a `RepositoryFault` always fails one repository's operations (the way an IAM policy
denies one ARN). Every request is recorded (operation, repositories named in
the body, outcome), so tests can bound the number of calls and see which repository was written.

Decisions are deterministic for a seed *whatever the thread interleaving*: the fate of a
request depends only on the seed, the request body and how many times that same body was seen
before, never on arrival order. Errors come in the shape of the call's protocol: AWS JSON for
calls with an `X-Amz-Target` header (ECR), query-protocol XML otherwise (CloudFormation).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pytest

HOST = "127.0.0.1"  # loopback only
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection",
               "te", "trailer", "upgrade"}


@dataclass(frozen=True)
class RepositoryFault:
    """Always answer `operations` (name prefixes, e.g. `Put`) on `repository` with `error`;
    repository `*` means every call of those operations, whatever it names (`ListClusters`)."""

    repository: str
    error: str = "AccessDeniedException"
    operations: tuple[str, ...] = ("Put",)
    status: int = 400

    def applies(self, operation: str, repositories: tuple[str, ...]) -> bool:
        return (self.repository == "*" or self.repository in repositories) and operation.startswith(self.operations)


@dataclass(frozen=True)
class Faults:
    """What goes wrong: `repositories` rules first, then the first `throttle_first` tries of every
    request, then shares (0..1) of the remaining requests, in this order."""

    throttle_first: int = 0      # every distinct request is throttled on its first N tries
    throttle: float = 0.0        # HTTP 400 ThrottlingException (JSON) or Throttling (query)
    server_error: float = 0.0    # HTTP 500 InternalFailure or 503 ServiceUnavailable, half each
    drop: float = 0.0            # the connection is closed without a reply, the request not forwarded
    drop_reply: float = 0.0      # forwarded (a write is made), then closed without a reply
    delay: float = 0.0           # forwarded after `delay_seconds`
    delay_seconds: float = 0.2
    operations: frozenset[str] | None = None  # only these get random faults; None: all
    repositories: tuple[RepositoryFault, ...] = ()
    seed: int = 0


@dataclass(frozen=True)
class Request:
    """One request as the proxy saw it: `outcome` is `forwarded`, `delayed`, `drop`,
    `drop-reply` or the error code sent."""

    operation: str
    repositories: tuple[str, ...]
    outcome: str


@dataclass
class _State:
    faults: Faults = field(default_factory=Faults)
    requests: list[Request] = field(default_factory=list)
    seen: Counter[bytes] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    intercepts: dict[str, Intercept] = field(default_factory=dict)


# Called with the request's parameters before it is forwarded (the JSON body of an AWS JSON call,
# the form fields of a query call such as CloudFormation's): a dict is sent back as the reply
# (HTTP 200) instead of forwarding, as JSON or as the query protocol's XML (flat string values);
# None forwards it; an `AwsError` raised is sent back as that error. It may also act on moto first
# (a concurrent writer).
Intercept = Callable[[dict], "dict | None"]


class AwsError(Exception):
    """What an intercept raises to answer with an AWS error (JSON protocol) instead of a reply."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class FaultProxy:
    """A threaded reverse proxy to `upstream`; use as a context manager or start()/stop()."""

    def __init__(self, upstream: str, faults: Faults | None = None) -> None:
        target = urlsplit(upstream)
        if target.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the fault proxy only forwards to loopback, not {upstream}")
        self._state = _State(faults or Faults())
        handler = type("Handler", (_Handler,), {"state": self._state, "upstream": (target.hostname,
                                                                                    target.port or 80)})
        self._server = _Server((HOST, 0), handler)
        # shutdown() waits for the loop's next poll: every 10 ms, not the default 0.5 s
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)
        self.url = f"http://{HOST}:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def intercept(self, operation: str, handler: Intercept) -> None:
        """Hand every `operation` request to `handler` first."""
        with self._state.lock:
            self._state.intercepts[operation] = handler

    def configure(self, faults: Faults) -> None:
        """Use `faults` from now on and forget what was recorded so far."""
        with self._state.lock:
            self._state.faults = faults
            self._state.requests.clear()
            self._state.seen.clear()

    @property
    def requests(self) -> list[Request]:
        with self._state.lock:
            return list(self._state.requests)

    def counts(self, outcome: str | None = None) -> Counter[str]:
        """Requests per operation, all of them or only those with `outcome`."""
        return Counter(r.operation for r in self.requests if outcome is None or r.outcome == outcome)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (killed, or gave up) is normal here; anything else is a bug."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    state: _State
    upstream: tuple[str, int]
    _local = threading.local()

    def setup(self) -> None:
        super().setup()
        # Replies go out in one write without Nagle's delay, as a real endpoint's would.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests read `requests`, not a log."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:  # S3's REST calls (HeadBucket, an upload) pass through too
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation, repositories, json_protocol = _describe(self.headers.get("X-Amz-Target"), body)
        outcome, fault = self._decide(operation, repositories, json_protocol, body)
        with self.state.lock:
            self.state.requests.append(Request(operation, repositories, outcome))
        if fault is not None:
            self._reply_error(*fault, json_protocol)
            return
        handler = self.state.intercepts.get(operation)
        try:
            if json_protocol:
                reply = handler(json.loads(body or b"{}")) if handler else None
            else:
                reply = handler({k: v[0] for k, v in parse_qs(body.decode()).items()}) if handler else None
        except AwsError as exc:
            self._reply_error(exc.status, exc.code, json_protocol, exc.message)
            return
        if reply is not None and json_protocol:
            self._reply(200, [("Content-Type", "application/x-amz-json-1.1")], json.dumps(reply).encode())
            return
        if reply is not None:
            fields = "".join(f"<{key}>{escape(value)}</{key}>" for key, value in reply.items())
            xml = (f'<{operation}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
                   f"<{operation}Result>{fields}</{operation}Result></{operation}Response>")
            self._reply(200, [("Content-Type", "text/xml")], xml.encode())
            return
        if outcome == "delayed":
            time.sleep(self.state.faults.delay_seconds)
        if outcome == "drop":
            self._hang_up()
            return
        response = self._forward(body)
        if outcome == "drop-reply":
            self._hang_up()
        else:
            self._reply(*response)

    def _hang_up(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _decide(self, operation: str, repositories: tuple[str, ...], json_protocol: bool,
                body: bytes) -> tuple[str, tuple[int, str] | None]:
        with self.state.lock:
            faults = self.state.faults
            key = operation.encode() + b"\0" + body
            attempt = self.state.seen[key]
            self.state.seen[key] += 1
        for rule in faults.repositories:
            if rule.applies(operation, repositories):
                return rule.error, (rule.status, rule.error)
        if faults.operations is not None and operation not in faults.operations:
            return "forwarded", None
        throttling = "ThrottlingException" if json_protocol else "Throttling"
        if attempt < faults.throttle_first:
            return throttling, (400, throttling)
        digest = hashlib.sha256(f"{faults.seed}:{attempt}:".encode() + key).digest()
        roll = int.from_bytes(digest[:8], "big") / 2**64
        for share, outcome, fault in (
                (faults.throttle, throttling, (400, throttling)),
                (faults.server_error / 2, "InternalFailure", (500, "InternalFailure")),
                (faults.server_error / 2, "ServiceUnavailable", (503, "ServiceUnavailable")),
                (faults.drop, "drop", None),
                (faults.drop_reply, "drop-reply", None),
                (faults.delay, "delayed", None)):
            if roll < share:
                return outcome, fault
            roll -= share
        return "forwarded", None

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """moto's reply: status, end-to-end headers, body."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            return self._exchange(body, headers)
        except (http.client.HTTPException, OSError):  # a pooled upstream connection may have gone stale
            return self._exchange(body, headers)

    def _exchange(self, body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = getattr(self._local, "conn", None) or http.client.HTTPConnection(*self.upstream, timeout=60)
        self._local.conn = None
        conn.request(self.command, self.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        self._local.conn = conn  # kept for this thread's next request only once it worked
        return response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP], data

    def _reply_error(self, status: int, code: str, json_protocol: bool, message: str | None = None) -> None:
        message = message or f"{code} (injected by the fault proxy)"
        if json_protocol:
            body = json.dumps({"__type": code, "message": message}).encode()
            self._reply(status, [("Content-Type", "application/x-amz-json-1.1")], body)
            return
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>fault-proxy</RequestId></ErrorResponse>").encode()
        self._reply(status, [("Content-Type", "text/xml")], body)

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _describe(target: str | None, body: bytes) -> tuple[str, tuple[str, ...], bool]:
    """(operation, repository names (or the role ARN to assume) in the body, is it an AWS JSON call)."""
    if target:
        operation = target.rsplit(".", 1)[-1]
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        names = data.get("repositoryNames") or [data.get("repositoryName")]
        return operation, tuple(n for n in names if isinstance(n, str)), True
    params = parse_qs(body.decode("utf-8", "replace"))
    # STS AssumeRole names its role: a RepositoryFault on the role ARN denies that account.
    return params.get("Action", ["?"])[0], tuple(params.get("RoleArn", [])), False


@pytest.fixture()
def fault_proxy(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A proxy in front of the empty moto account, with no faults yet; AWS_ENDPOINT_URL points
    at it (for `ecrgen` children too). Set up state through `aws` (moto directly), then
    `configure` the faults."""
    with FaultProxy(aws) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        yield proxy
