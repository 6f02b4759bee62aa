"""A store on S3-compatible object storage (`store = "s3://bucket/prefix"`): how delta-rs, pyarrow
and DuckDB reach it, from the settings registry only (`s3_endpoint`, `s3_region`,
`s3_access_key_id`, `s3_secret_access_key`), never from the URI, and never over plain HTTP
unless the endpoint is this machine.

Commits stay safe with several writers because delta-rs writes each commit file with a
conditional PUT (`If-None-Match: *`): of two writers racing for the same version the server lets
one create it and answers the other 412, which delta-rs raises as a commit conflict (see
docs/s3.md for why that protocol, and the tests that hold the server to it). DuckDB reads the
bucket through pyarrow's S3 filesystem registered with it (fsspec), never through an extension
downloaded at run time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import duckdb
import pyarrow.fs as pafs
from fsspec.implementations.arrow import ArrowFSWrapper

from reformkpi import config
from reformkpi.integrity import StoreError

SCHEME = "s3"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def is_remote(uri: str) -> bool:
    """Whether the store is an object store (else a local directory, maybe as file://)."""
    return "://" in uri and not uri.startswith("file://")


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom the object store is reached (the secret out of every repr)."""

    url: str
    region: str
    key_id: str
    secret: str = field(repr=False)

    @property
    def plain_http(self) -> bool:
        return self.url.startswith("http://")


def endpoint(uri: str) -> Endpoint:
    """The endpoint of an `s3://` store from the settings; StoreError for another scheme, a URI that
    carries credentials, half a key pair, or plain HTTP to another machine."""
    parts = urlsplit(uri)
    if parts.scheme != SCHEME:
        raise StoreError(f"store {uri}: only a local directory or an {SCHEME}:// object store is supported")
    if "@" in parts.netloc or parts.query:
        raise StoreError(f"store {parts.scheme}://{parts.hostname}/…: credentials and options belong in the "
                         "settings (s3_access_key_id, s3_secret_access_key), never in the store's URI")
    s = config.settings()
    if bool(s.s3_access_key_id) != bool(s.s3_secret_access_key):
        raise StoreError("s3_access_key_id and s3_secret_access_key are set together or not at all")
    url = s.s3_endpoint.rstrip("/")
    host = urlsplit(url).hostname if url else None
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise StoreError(f"s3_endpoint {url}: an http(s) URL is expected")
    if url.startswith("http://") and host not in LOCAL_HOSTS:
        raise StoreError(f"s3_endpoint {url}: plain HTTP would send the store's credentials and data in clear; "
                         "use https (plain http is allowed only on localhost)")
    return Endpoint(url, s.s3_region, s.s3_access_key_id, s.s3_secret_access_key)


def storage_options(uri: str) -> dict[str, str] | None:
    """delta-rs' storage options for the store (None for a local directory)."""
    if not is_remote(uri):
        return None
    e = endpoint(uri)
    # Commit files are created with If-None-Match: * (the server refuses to overwrite one).
    options = {"AWS_REGION": e.region, "conditional_put": "etag"}
    if e.url:
        options |= {"AWS_ENDPOINT_URL": e.url, "AWS_ALLOW_HTTP": str(e.plain_http).lower()}
    if e.key_id:
        options |= {"AWS_ACCESS_KEY_ID": e.key_id, "AWS_SECRET_ACCESS_KEY": e.secret}
    return options


@functools.lru_cache(maxsize=8)
def _s3(e: Endpoint) -> pafs.S3FileSystem:
    host = urlsplit(e.url)
    return pafs.S3FileSystem(access_key=e.key_id or None, secret_key=e.secret or None, region=e.region,
                             endpoint_override=host.netloc or None, scheme=host.scheme or "https")


def arrow_fs(uri: str) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem for a store's URI (or a file's under it) and the path within it."""
    if "://" not in uri:
        return pafs.LocalFileSystem(), uri
    if not is_remote(uri):
        return pafs.FileSystem.from_uri(uri)
    return _s3(endpoint(uri)), uri.split("://", 1)[1].rstrip("/")


def file_path(uri: str) -> str:
    """A data file's path as `arrow_fs` takes it (a local path without file://)."""
    return uri.split("://", 1)[1] if "://" in uri else uri


class _DuckS3(ArrowFSWrapper):
    protocol = SCHEME


def register(con: duckdb.DuckDBPyConnection, uri: str) -> duckdb.DuckDBPyConnection:
    """Let `con` read the store's files: for an object store, pyarrow's S3 filesystem registered
    with DuckDB (no extension is installed or loaded at run time)."""
    if is_remote(uri):
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.register_filesystem(_DuckS3(arrow_fs(uri)[0]))
    return con
