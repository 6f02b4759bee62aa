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

import fnmatch
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

import duckdb
import pyarrow.fs as pafs
from deltalake import DeltaTable
from fsspec.implementations.arrow import ArrowFSWrapper

from reformkpi import config
from reformkpi.integrity import StoreError

T = TypeVar("T")
SCHEME = "s3"


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
    if reason := config.endpoint_refused(url):  # settings installed without `load` (a test's own)
        raise StoreError(reason)
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


_latest: dict[str, tuple[threading.Lock, DeltaTable]] = {}
_latest_lock = threading.Lock()


def with_latest(path: str, options: dict[str, str] | None, fn: Callable[[DeltaTable], T]) -> T:
    """`fn` of a table's latest version, from one DeltaTable per table kept by the process and
    brought up to date with the commits that are new since (on a bucket: one listing and a GET per
    new commit, where opening the table anew reads every commit of its log). Under the table's
    lock: the kept table is never handed out."""
    with _latest_lock:
        if path not in _latest:
            _latest[path] = (threading.Lock(), DeltaTable(path, storage_options=options))
            fresh = True
        else:
            fresh = False
        lock, table = _latest[path]
    with lock:
        if not fresh:
            table.update_incremental()
        return fn(table)


@functools.lru_cache(maxsize=256)
def pinned(path: str, version: int, options: frozenset[tuple[str, str]]) -> DeltaTable:
    """A table at a given version, kept by the process: a version never changes, so its log is
    read from the bucket once. For reading only (a write moves a DeltaTable to its new version)."""
    return DeltaTable(path, version=version, storage_options=dict(options))


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


class RemotePath:
    """A folder or file in an object store with the few `pathlib.Path` methods the store's
    self-check uses (reformkpi.integrity), so that one check serves a local disk and a bucket. A
    path listed by `iterdir` keeps the size and time the listing gave (no request per file)."""

    def __init__(self, fs: pafs.FileSystem, path: str, info: pafs.FileInfo | None = None):
        self.fs, self.path, self._info = fs, path.rstrip("/"), info

    def __truediv__(self, name: str) -> RemotePath:
        return RemotePath(self.fs, f"{self.path}/{name}")

    def __str__(self) -> str:
        return f"{SCHEME}://{self.path}"

    def __repr__(self) -> str:
        return f"RemotePath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def info(self) -> pafs.FileInfo:
        """What the listing said of the path, else what the server says now."""
        return self._info if self._info is not None else self.fs.get_file_info(self.path)

    def iterdir(self) -> list[RemotePath]:
        """The entries of a folder; FileNotFoundError if there is none (as pathlib says)."""
        found = self.fs.get_file_info(pafs.FileSelector(self.path, allow_not_found=True))
        if not found and self.info().type == pafs.FileType.NotFound:
            raise FileNotFoundError(str(self))
        return [RemotePath(self.fs, f.path, f) for f in found]

    def is_dir(self) -> bool:
        return self.info().type == pafs.FileType.Directory

    def is_file(self) -> bool:
        return self.info().type == pafs.FileType.File

    def stat(self) -> Stat:
        i = self.info()
        if i.type == pafs.FileType.NotFound:
            raise FileNotFoundError(str(self))
        return Stat(i.size or 0, i.mtime_ns or 0)

    def read_bytes(self) -> bytes:
        with self.fs.open_input_stream(self.path) as f:
            return f.read()

    def read_text(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self.read_bytes().decode(encoding, errors)

    def write_bytes(self, data: bytes) -> None:
        with self.fs.open_output_stream(self.path) as f:
            f.write(data)
        self._info = None

    def write_text(self, text: str, encoding: str = "utf-8") -> None:
        self.write_bytes(text.encode(encoding))

    def exists(self) -> bool:
        return self.info().type != pafs.FileType.NotFound

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: a bucket's folders are the prefixes of its objects."""

    @property
    def stem(self) -> str:
        return self.name.rsplit(".", 1)[0]

    def with_suffix(self, suffix: str) -> RemotePath:
        return RemotePath(self.fs, self.path.rsplit(".", 1)[0] + suffix)

    def replace(self, target: RemotePath) -> None:
        """Move onto `target` (a copy then a delete on the server; a reader of `target` sees the old
        object or the new one, an object is never half written)."""
        self.fs.move(self.path, target.path)

    def glob(self, pattern: str) -> list[RemotePath]:
        """The entries whose name matches `pattern` (no folders crossed)."""
        return [p for p in (self.iterdir() if self.exists() else []) if fnmatch.fnmatchcase(p.name, pattern)]

    def relative_to(self, other: RemotePath) -> str:
        return self.path[len(other.path) + 1:]

    def files_under(self) -> set[str]:
        """Every file under this folder, as URIs (one listing, not a request per file)."""
        found = self.fs.get_file_info(pafs.FileSelector(self.path, recursive=True, allow_not_found=True))
        return {f"{SCHEME}://{f.path}" for f in found if f.type == pafs.FileType.File}


@dataclass(frozen=True)
class Stat:
    st_size: int
    st_mtime_ns: int


def root(uri: str) -> RemotePath:
    """The store's folder in its bucket."""
    fs, path = arrow_fs(uri)
    return RemotePath(fs, path)
