"""Services a test starts, owns and may kill: a private redis-server on a free port (6390-6394).

Tests that stop Redis or run a Celery worker never touch the shared server on 6379.
"""

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

OWN_REDIS_PORTS = range(6390, 6395)


@dataclass
class OwnRedis:
    port: int
    process: subprocess.Popen[bytes]

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-conversation, as in a crash."""
        self.process.kill()
        self.process.wait()


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def own_redis(workdir: Path) -> Iterator[OwnRedis]:
    """A throwaway redis-server (no persistence) on the first free port of 6390-6394."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed")
    port = next((port for port in OWN_REDIS_PORTS if _port_free(port)), None)
    if port is None:
        raise RuntimeError("no free port in 6390-6394 for a private redis-server")
    process = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = OwnRedis(port=port, process=process)
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            server.kill()
