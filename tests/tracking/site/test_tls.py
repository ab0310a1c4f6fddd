"""The broker over TLS (``rediss://``) and with ACL users, on a real redis-server.

Each test starts its own redis-server on a free 127.0.0.1 port, serving TLS
only with a throwaway CA and server certificate that ``openssl`` makes in the
server's temporary folder (:class:`~mlfn_keras.tracking.site.local.LocalRedis`
with ``tls=True``), and with the ACL users of docs/multibox.md. Nothing is
downloaded.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from site_helpers import same_mot, scene_files, single_box

pytestmark = [
    pytest.mark.skipif(shutil.which("redis-server") is None,
                       reason="redis-server is not installed (apt-get install -y redis-server; .ci/run does)"),
    pytest.mark.skipif(shutil.which("openssl") is None,
                       reason="the openssl command is not installed (apt-get install -y openssl; .ci/run does)"),
]

DOCS = Path(__file__).resolve().parents[3] / "docs" / "multibox.md"
USERS = {"edge": "edge-pw-1", "central": "central-pw-2"}


@pytest.fixture(scope="module")
def server():
    from mlfn_keras.tracking.site.local import LocalRedis

    with LocalRedis(tls=True, users=USERS) as s:
        yield s


def _one_clear_line(exc: BaseException, *absent: str) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    for secret in absent:
        assert secret not in text
    return text


def test_a_broker_over_tls_with_its_ca_publishes_reads_acks_and_leases():
    from mlfn_keras.tracking.site.broker import BrokerUnavailable, RedisBroker
    from mlfn_keras.tracking.site.local import LocalRedis

    with LocalRedis(tls=True) as s:
        assert s.url.startswith("rediss://127.0.0.1:") and "?ssl_ca_certs=" in s.url
        b = RedisBroker(s.url)
        b.ping()
        assert b.publish("mlfn:up:a", "1-1", {"h": b"x"}) and b.publish("mlfn:up:a", "2-1", {"h": b"y"})
        assert not b.publish("mlfn:up:a", "2-1", {"h": b"y"})  # a retried publish is stored once
        b.ensure_group("mlfn:up:a", "central")
        got = b.read_group("central", "c1", ["mlfn:up:a"], count=10, block_ms=100)
        assert [(i, f) for _, i, f in got] == [("1-1", {b"h": b"x"}), ("2-1", {b"h": b"y"})]
        assert b.info("mlfn:up:a", "central").pending == 2
        b.ack("mlfn:up:a", "central", ["1-1", "2-1"])
        assert b.info("mlfn:up:a", "central").pending == 0
        assert b.read("mlfn:up:a", "1-1", 10, None) == [("2-1", {b"h": b"y"})]
        lease = b.lease("mlfn:lease", 5000, wait_s=0)
        assert lease is not None and lease.renew() and b.lease("mlfn:lease", 5000, wait_s=0) is None
        assert b.memory_used() > 0
        b.close()
        # TLS only: the same port refuses plain text
        plain = RedisBroker(f"redis://127.0.0.1:{s.port}", timeout=2)
        with pytest.raises(BrokerUnavailable):
            plain.ping()


def test_tls_without_its_ca_with_another_ca_or_an_unreadable_ca_file_is_one_clear_error(server, tmp_path, capsys):
    from mlfn_keras.tracking.site.broker import BrokerError, RedisBroker
    from mlfn_keras.tracking.site.cli import central_main
    from mlfn_keras.tracking.site.local import make_ca

    good = server.url_for("central")
    bare = good.split("?")[0]
    other_ca, _ = make_ca(str(tmp_path), "other")
    cases = {bare: "TLS certificate not trusted", f"{bare}?ssl_ca_certs={other_ca}": "TLS certificate not trusted",
             f"{bare}?ssl_ca_certs={tmp_path}/missing.crt": "cannot read a TLS file"}
    for url, says in cases.items():
        with pytest.raises(BrokerError) as err:
            RedisBroker(url, timeout=5).ping()
        text = _one_clear_line(err.value, USERS["central"])
        assert says in text and "ssl_ca_certs=PATH" in text and "central:***@127.0.0.1" in text
    # the command line says the same in one line and exits 2, without retrying
    code = central_main(["--broker", bare, "--edges", "1", "--output", str(tmp_path / "c"), "--quiet"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and len(errors) == 1 and "TLS certificate not trusted" in errors[0]
    assert "Traceback" not in err and USERS["central"] not in err


def test_tls_to_a_plain_port_is_one_clear_error_not_an_endless_retry(tmp_path, capsys):
    from mlfn_keras.tracking.site.broker import BrokerError, RedisBroker
    from mlfn_keras.tracking.site.cli import central_main
    from mlfn_keras.tracking.site.local import LocalRedis

    with LocalRedis() as plain:  # no TLS: a handshake sent here hangs until the timeout
        url = f"rediss://127.0.0.1:{plain.port}"
        with pytest.raises(BrokerError) as err:
            RedisBroker(url, timeout=1).ping()
        text = _one_clear_line(err.value)
        assert "speaks plain Redis, not TLS" in text and "rediss:// at the server's tls-port" in text
        code = central_main(["--broker", url, "--edges", "1", "--output", str(tmp_path / "c"), "--quiet"])
        errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
        assert code == 2 and len(errors) == 1 and "speaks plain Redis" in errors[0]


def test_the_docs_acl_users_can_do_their_roles_work_and_nothing_else(server):
    from mlfn_keras.tracking.site.broker import BrokerError, RedisBroker

    edge, central = RedisBroker(server.url_for("edge")), RedisBroker(server.url_for("central"))
    # what an edge does (edge.py): ping + INFO, hello, liveness, publish, its last entry, the id channel
    edge.ping()
    edge.hset("mlfn:edges", "box0", b"hello")
    edge.set("mlfn:alive:box0", b"1", ttl_ms=5000)
    assert edge.publish("mlfn:up:box0", "1-1", {"m": b"x"})
    assert edge.last_entry("mlfn:up:box0") == ("1-1", {b"m": b"x"})
    assert edge.read("mlfn:ids", "0", 10, None) == [] and edge.get("mlfn:checkpoint") is None
    # what the central does (central.py): groups, pending, claims, the lease, checkpoints, clean-up
    central.ping()
    central.ensure_group("mlfn:up:box0", "central")
    assert [i for _, i, _ in central.read_group("central", "c1", ["mlfn:up:box0"], 10, 100)] == ["1-1"]
    assert [i for _, i, _ in central.read_pending("central", "c1", "mlfn:up:box0")] == ["1-1"]
    assert central.claim("mlfn:up:box0", "central", "c2") == 1
    central.ack("mlfn:up:box0", "central", ["1-1"])
    assert central.info("mlfn:up:box0", "central").pending == 0
    assert central.publish("mlfn:ids", "1-1", {"id": b"7"}) and central.hgetall("mlfn:edges") == {"box0": b"hello"}
    lease = central.lease("mlfn:lease", 5000, wait_s=0)
    assert lease is not None and lease.renew() and central.lease_holder("mlfn:lease")
    lease.release()
    assert central.memory_used() > 0
    central.delete("mlfn:up:box0", "mlfn:ids", "mlfn:edges", "mlfn:alive:box0")
    # an edge may not delete, nor touch keys outside the site's namespace: one clear line each
    for action in (lambda: edge.delete("mlfn:edges"), lambda: edge.publish("other:up", "1-1", {"m": b"x"}),
                   lambda: central.set("other:key", b"1")):
        with pytest.raises(BrokerError) as err:
            action()
        assert "NOPERM" in _one_clear_line(err.value, *USERS.values())


def test_a_wrong_password_or_no_user_is_one_clear_error_naming_the_url_without_the_password(server):
    from mlfn_keras.tracking.site.broker import BrokerError, RedisBroker

    good = server.url_for("edge")
    for url, secret in ((good.replace(USERS["edge"], "not-the-pw"), "not-the-pw"),
                        (good.replace("edge:", "central:"), USERS["edge"]),  # another role's user, this password
                        (server.url, None)):  # the default user is off
        with pytest.raises(BrokerError) as err:
            RedisBroker(url).ping()
        text = _one_clear_line(err.value, *(s for s in (secret, *USERS.values()) if s))
        assert "refused" in text and "rediss://" in text and "127.0.0.1" in text
        if secret:
            assert ":***@127.0.0.1" in text


def test_the_docs_redis_conf_is_the_configuration_tested(server):
    """docs/multibox.md's redis.conf lines for ACL users and TLS are exactly what LocalRedis serves here."""
    block = re.search(r"```\n# redis.conf on the central\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert block, "docs/multibox.md lost its redis.conf block"
    docs = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    tls = str(Path(server.ca_cert).parent)
    tested = []
    for line in Path(server.folder, "redis.conf").read_text().splitlines():
        for name, pw in USERS.items():
            line = line.replace(f"user {name} on >{pw} ", f"user {name} on >{name}-password ")
        line = line.replace(f'"{tls}/', "/etc/redis/tls/").rstrip('"')
        tested.append(re.sub(r"^tls-port \d+$", "tls-port 6380", line))
    assert [line for line in tested if line not in docs] == []
    assert [line for line in docs if line.startswith("user ")] == [line for line in tested if line.startswith("user ")]
    for role, pw in USERS.items():  # and the docs' command lines connect the same way
        assert f"rediss://{role}:{role}-password@central.lan:6380?ssl_ca_certs=" in DOCS.read_text()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return single_box(tmp_path_factory.mktemp("single") / "run")


def test_a_site_over_tls_with_acl_users_gives_the_single_box_answer(reference, tmp_path):
    """Two mlfn-edge processes and mlfn-central over rediss:// as the docs' ACL users: the plain run's output."""
    from mlfn_keras.tracking.bench.multibox import LocalSite

    specs, _ = scene_files()
    with LocalSite(specs, tmp_path, tls=True, users=USERS) as site:
        site.start()
        assert site.url("edge").startswith("rediss://edge:") and site.url("central").startswith("rediss://central:")
        codes = site.wait()
        central = site.central_summary()
        ids = [site.edge_summary(i)["ids"] for i in range(len(specs))]
    assert codes == {"edge0": 0, "edge1": 0, "central": 0}
    assert same_mot(reference, tmp_path / "central") == []
    assert central["site"]["refused"] == 0 and central["site"]["duplicates"] == 0
    assert sum(ids) > 0  # the ids came back to the edges over TLS
