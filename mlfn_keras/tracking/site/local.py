"""A private ``redis-server`` on a free loopback port, in a folder of its own.

For tests, benchmarks and trying a site on one machine: :class:`LocalRedis`
starts Debian's ``redis-server`` bound to 127.0.0.1 only, with the append-only
file in its folder (``appendfsync always`` by default, so a killed server
loses nothing acknowledged), ``noeviction`` under a memory cap, and stops it
by its PID. :meth:`LocalRedis.kill` and :meth:`LocalRedis.restart` simulate a
crash on the same port and folder.

With ``tls=True`` it makes a throwaway CA and a server certificate for
127.0.0.1/localhost in its folder (the ``openssl`` command, Debian's
``openssl`` package), serves TLS only, and its URL is
``rediss://127.0.0.1:PORT?ssl_ca_certs=<its CA>``. With ``users`` it
serves ACL users instead of the default user (switched off): ``edge`` and
``central`` get the permissions of :data:`SITE_ACL` (the lines
``docs/multibox.md`` gives for a site), any other name everything.

Example:

    with LocalRedis() as server:
        broker = RedisBroker(server.url)
    with LocalRedis(tls=True, users={"edge": "pw1", "central": "pw2"}) as server:
        edge = RedisBroker(server.url_for("edge"))
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Mapping
from urllib.parse import quote

from mlfn_keras.errors import UserError


class RedisNotInstalled(UserError):
    """``redis-server`` is not on the PATH."""


class OpensslNotInstalled(UserError):
    """The ``openssl`` command (for :class:`LocalRedis`'s TLS certificates) is not on the PATH."""


#: ACL rules of a site's two roles (``user NAME on >PASSWORD RULES``; the lines of docs/multibox.md).
SITE_ACL = {
    "edge": "~mlfn:* &* +@stream +hset +set +get +ping +info",
    "central": "~mlfn:* &* +@all -@dangerous +info",
}
#: ACL rules of any other user name :class:`LocalRedis` is given.
ALL_ACL = "~* &* +@all"

#: Seconds one ``openssl`` call may take.
OPENSSL_TIMEOUT = 30.0


def _openssl(*args: str, cwd: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise OpensslNotInstalled("the openssl command is not installed; it makes the test certificates of "
                                  "LocalRedis(tls=True) (apt-get install -y openssl)")
    try:
        subprocess.run([binary, *args], cwd=cwd, check=True, capture_output=True, timeout=OPENSSL_TIMEOUT)
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"openssl {args[0]} failed with {exc.returncode}: {' '.join(tail)}") from None
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"openssl {args[0]} did not finish within {OPENSSL_TIMEOUT:.0f} s") from None


_EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def make_ca(folder: str, name: str = "ca") -> tuple[str, str]:
    """A throwaway certificate authority in ``folder``: ``(NAME.crt, NAME.key)`` paths (openssl, P-256, 2 days)."""
    os.makedirs(folder, exist_ok=True)
    crt, key = os.path.join(folder, f"{name}.crt"), os.path.join(folder, f"{name}.key")
    _openssl("req", "-x509", *_EC_KEY, "-keyout", key, "-out", crt, "-days", "2", "-subj", f"/CN=mlfn-test-{name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash", cwd=folder)
    return crt, key


def make_server_cert(folder: str, ca: tuple[str, str], hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
                     name: str = "redis") -> tuple[str, str]:
    """A server certificate for ``hosts`` signed by ``ca``: ``(NAME.crt, NAME.key)`` paths in ``folder``."""
    crt, key, csr = (os.path.join(folder, f"{name}.{ext}") for ext in ("crt", "key", "csr"))
    ext = os.path.join(folder, f"{name}.ext")
    san = ",".join(("IP:" if h.replace(".", "").isdigit() or ":" in h else "DNS:") + h for h in hosts)
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    _openssl("req", "-new", *_EC_KEY, "-keyout", key, "-out", csr, "-subj", f"/CN={hosts[0]}", cwd=folder)
    _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-set_serial", f"0x{secrets.token_hex(8)}",
             "-days", "2", "-extfile", ext, "-out", crt, cwd=folder)
    return crt, key


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
        tls: serve TLS only (``--port 0 --tls-port PORT``) with a certificate of a throwaway CA made in
            ``folder``; clients need no certificate of their own.
        users: ACL users, name → password (:data:`SITE_ACL` rules for ``edge`` and ``central``,
            :data:`ALL_ACL` for others); the default user is switched off. Not with ``password``.
    """

    def __init__(self, folder: str | None = None, port: int | None = None, appendfsync: str = "always",
                 maxmemory: str = "512mb", password: str | None = None, start_timeout: float = 10.0,
                 tls: bool = False, users: Mapping[str, str] | None = None):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RedisNotInstalled("redis-server is not installed; expected Debian's redis-server >= 7.0 "
                                    "(apt-get install -y redis-server)")
        self._own_folder = folder is None
        self.folder = folder or tempfile.mkdtemp(prefix="mlfn-redis-")
        self.port = port or free_port()
        self.appendfsync, self.maxmemory, self.password = appendfsync, maxmemory, password
        self.start_timeout = start_timeout
        if users and password:
            raise ValueError("LocalRedis takes a password (the default user) or ACL users, not both")
        for name, pw in (users or {}).items():
            if not name or not pw or any(c.isspace() for c in name + pw) or not name.isprintable():
                raise ValueError(f"ACL user {name!r}: expected a name and a password without spaces")
        self.tls, self.users = tls, dict(users or {})
        self.ca_cert: str | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Its URL, with ``password`` if it has one (with ACL users: no user; see :meth:`url_for`)."""
        return self.url_for(None)

    def url_for(self, user: str | None) -> str:
        """Its URL as ACL user ``user`` (``None``: the default user, with ``password`` if any)."""
        if user is not None:
            auth = f"{quote(user, safe='')}:{quote(self.users[user], safe='')}@"
        else:
            auth = f":{quote(self.password, safe='')}@" if self.password else ""
        if not self.tls:
            return f"redis://{auth}127.0.0.1:{self.port}"
        return f"rediss://{auth}127.0.0.1:{self.port}?ssl_ca_certs={quote(self._tls_files()[2], safe='/')}"

    def _tls_files(self) -> tuple[str, str, str]:
        """``(server cert, server key, CA cert)`` in its folder, made the first time."""
        tls = os.path.join(self.folder, "tls")
        crt, key, ca = (os.path.join(tls, f) for f in ("redis.crt", "redis.key", "ca.crt"))
        if not all(os.path.exists(p) for p in (crt, key, ca)):
            os.makedirs(tls, mode=0o700, exist_ok=True)
            make_server_cert(tls, make_ca(tls))
        self.ca_cert = ca
        return crt, key, ca

    def _config(self) -> str:
        """Its ACL users and TLS files as a redis.conf in its folder (passwords stay off the command line)."""
        lines = []
        if self.users:
            lines.append("user default off")
            lines += [f"user {name} on >{pw} {SITE_ACL.get(name, ALL_ACL)}" for name, pw in self.users.items()]
        if self.tls:
            crt, key, ca = self._tls_files()
            lines += ["port 0", f"tls-port {self.port}", f'tls-cert-file "{crt}"', f'tls-key-file "{key}"',
                      f'tls-ca-cert-file "{ca}"', "tls-auth-clients no"]
        path = os.path.join(self.folder, "redis.conf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        return path

    def _answers(self) -> bool:
        """Whether it answers a PING (over TLS, checking its certificate, when ``tls``)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw:
                if self.tls:
                    ctx = ssl.create_default_context(cafile=self._tls_files()[2])
                    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                        s.sendall(b"PING\r\n")
                        reply = s.recv(64)
                else:
                    raw.sendall(b"PING\r\n")
                    reply = raw.recv(64)
            return reply.startswith((b"+PONG", b"-NOAUTH"))
        except OSError:  # ssl.SSLError too
            return False

    def start(self) -> LocalRedis:
        args = [self.binary, self._config(), "--bind", "127.0.0.1", "--dir", self.folder,
                "--appendonly", "yes", "--appendfsync", self.appendfsync, "--save", "",
                "--maxmemory", self.maxmemory, "--maxmemory-policy", "noeviction", "--protected-mode", "yes",
                "--daemonize", "no", "--logfile", os.path.join(self.folder, "redis.log")]
        if not self.tls:
            args += ["--port", str(self.port)]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}; see {self.folder}/redis.log")
            if self._answers():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not answer{' over TLS' if self.tls else ''} on 127.0.0.1:{self.port} within {self.start_timeout} s")

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
