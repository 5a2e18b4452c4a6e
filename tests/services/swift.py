"""A single-node OpenStack Swift with the s3api middleware: a real S3-compatible store that checks
SigV4 signatures (access key ``test:tester``, secret ``testing``)."""

from __future__ import annotations

import os
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.services.base import Processes, chown, free_port, port_open, require_binary, wait_until

ACCESS_KEY = "test:tester"
SECRET_KEY = "testing"

SERVER_CONF = """\
[DEFAULT]
swift_dir = {root}/etc
devices = {root}/devices
mount_check = false
disable_fallocate = true
bind_ip = 127.0.0.1
bind_port = {port}
workers = 1
user = {user}
log_name = {kind}
log_level = WARNING
recon_cache_path = {root}/cache

[pipeline:main]
pipeline = {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}
"""

PROXY_CONF = """\
[DEFAULT]
swift_dir = {root}/etc
bind_ip = 127.0.0.1
bind_port = {port}
workers = 1
user = {user}
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo \
    proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached_port}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo
"""


@dataclass
class Swift:
    root: Path
    port: int
    processes: Processes = field(default_factory=Processes)
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = "us-east-1"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
        )

    def stop(self) -> None:
        self.processes.stop()


def _healthy(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=1) as response:
        return response.status == 200


def start_swift(root: Path) -> Swift:
    builder = require_binary("swift-ring-builder", "swift")
    memcached = require_binary("memcached", "memcached")
    require_binary("swift-proxy-server", "swift-proxy")
    user = "swift" if os.geteuid() == 0 else os.environ.get("USER", "root")
    for sub in ("etc", "devices/d1", "cache", "run"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    etc = root / "etc"
    (etc / "swift.conf").write_text(
        "[swift-hash]\nswift_hash_path_suffix = jemhtest\nswift_hash_path_prefix = jemhtest\n"
        "[storage-policy:0]\nname = Policy-0\ndefault = yes\n"
    )
    ports = {"object": free_port(), "container": free_port(), "account": free_port()}
    for kind, port in ports.items():
        ring = str(etc / f"{kind}.builder")
        for args in (["create", "6", "1", "1"], ["add", f"r1z1-127.0.0.1:{port}/d1", "100"], ["rebalance"]):
            result = subprocess.run([builder, ring, *args], capture_output=True, text=True, timeout=60)
            if result.returncode not in (0, 1):  # rebalance exits 1 on warnings
                raise RuntimeError(f"swift-ring-builder {args[0]} failed: {result.stdout}{result.stderr}")
        (etc / f"{kind}-server.conf").write_text(SERVER_CONF.format(root=root, port=port, user=user, kind=kind))
    memcached_port = free_port()
    swift = Swift(root=root, port=free_port())
    (etc / "proxy-server.conf").write_text(
        PROXY_CONF.format(root=root, port=swift.port, user=user, memcached_port=memcached_port)
    )
    if os.geteuid() == 0:
        chown(root, "swift", "swift")
    mem_user = ["-u", "memcache"] if os.geteuid() == 0 else []
    swift.processes.start(
        [memcached, *mem_user, "-l", "127.0.0.1", "-p", str(memcached_port), "-U", "0"], root / "memcached.log"
    )
    for kind in ("object", "container", "account"):
        swift.processes.start([f"swift-{kind}-server", str(etc / f"{kind}-server.conf")], root / f"{kind}.log")
    swift.processes.start(["swift-proxy-server", str(etc / "proxy-server.conf")], root / "proxy.log")
    wait_until(lambda: all(port_open(p) for p in ports.values()), 60, "Swift storage servers", root / "object.log")
    wait_until(lambda: _healthy(swift.port), 60, "Swift proxy", root / "proxy.log")
    return swift
