"""A private ``redis-server`` on a free loopback port, in a folder of its own.

For tests, benchmarks and trying a site on one machine: :class:`LocalRedis`
starts Debian's ``redis-server`` bound to 127.0.0.1 only, with the append-only
file in its folder (``appendfsync always`` by default, so a killed server
loses nothing acknowledged), ``noeviction`` under a memory cap, and stops it
by its PID. :meth:`LocalRedis.kill` and :meth:`LocalRedis.restart` simulate a
crash on the same port and folder.

Example:

    with LocalRedis() as server:
        broker = RedisBroker(server.url)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from mlfn_keras.errors import UserError


class RedisNotInstalled(UserError):
    """``redis-server`` is not on the PATH."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRedis:
    """A ``redis-server`` this process started (see the module docstring).

    Args:
        folder: where its files go (default: a new temporary folder, removed on stop).
        port: its port (default: a free one).
        appendfsync: ``always``, ``everysec`` or ``no``.
        maxmemory: memory cap (``noeviction``: writes fail when full, nothing is dropped).
        password: ``requirepass`` (``None``: none).
        start_timeout: seconds to wait for it to answer.
    """

    def __init__(self, folder: str | None = None, port: int | None = None, appendfsync: str = "always",
                 maxmemory: str = "512mb", password: str | None = None, start_timeout: float = 10.0):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RedisNotInstalled("redis-server is not installed; expected Debian's redis-server >= 7.0 "
                                    "(apt-get install -y redis-server)")
        self._own_folder = folder is None
        self.folder = folder or tempfile.mkdtemp(prefix="mlfn-redis-")
        self.port = port or free_port()
        self.appendfsync, self.maxmemory, self.password = appendfsync, maxmemory, password
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}"

    def start(self) -> LocalRedis:
        args = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.folder,
                "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "",
                "--maxmemory", self.maxmemory, "--maxmemory-policy", "noeviction", "--protected-mode", "yes",
                "--daemonize", "no", "--logfile", os.path.join(self.folder, "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.folder}/redis.log")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    reply = s.recv(64)
                    if reply.startswith((b"+PONG", b"-NOAUTH")):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{self.port} within {self.start_timeout} s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stops the server by its PID (``SIGKILL``: a crash; ``SIGTERM``: a clean stop)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def restart(self, sig: int = signal.SIGKILL) -> LocalRedis:
        """Kills it and starts it again on the same port and folder (its append-only file is replayed)."""
        self.kill(sig)
        return self.start()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
