"""How the store reaches an object store, from the settings only: refused without https (except on
localhost), with credentials in the URI, with half a key pair or another scheme; the secret in no
repr and no message. No server is needed (tests/objectstore has the real one)."""

from __future__ import annotations

import dataclasses

import pytest

from reformkpi import config, objectstore
from reformkpi.store import Store, StoreError

SECRET = "s3cr3t-never-shown"


def using(**values: str):
    env = {"HOME": "/nonexistent"} | {f"REFORMKPI_{k.upper()}": v for k, v in values.items()}
    return config.using(config.load(None, env))


def test_a_local_store_needs_no_options():
    assert objectstore.storage_options("/srv/kho") is None and Store("/srv/kho").options is None
    assert objectstore.storage_options("file:///srv/kho") is None


def test_the_options_come_from_the_settings_and_ask_for_conditional_puts():
    with using(s3_endpoint="http://127.0.0.1:9000/", s3_region="vn-hn-1", s3_access_key_id="kid",
               s3_secret_access_key=SECRET):
        assert Store("s3://kho/tinh").options == {
            "AWS_REGION": "vn-hn-1", "conditional_put": "etag", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
            "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": "kid", "AWS_SECRET_ACCESS_KEY": SECRET}
    with using(s3_endpoint="https://s3.tinh.gov.vn", s3_access_key_id="kid", s3_secret_access_key=SECRET):
        assert Store("s3://kho/tinh").options["AWS_ALLOW_HTTP"] == "false"


@pytest.mark.parametrize("endpoint", ["http://s3.tinh.gov.vn", "http://10.0.0.5:8333", "ftp://127.0.0.1"])
def test_plain_http_to_another_machine_is_refused(endpoint):
    """At start (the settings refused: the server does not start), and by the store itself."""
    env = {"HOME": "/nonexistent", "REFORMKPI_S3_ENDPOINT": endpoint, "REFORMKPI_S3_SECRET_ACCESS_KEY": SECRET}
    with pytest.raises(config.SettingsError, match="https|http\\(s\\)") as e:
        config.load(None, env)
    assert SECRET not in str(e.value)
    unchecked = dataclasses.replace(config.load(None, {"HOME": "/nonexistent"}), s3_endpoint=endpoint)
    with config.using(unchecked), pytest.raises(StoreError, match="https|http\\(s\\)"):
        Store("s3://kho/tinh")


def test_credentials_in_the_uri_are_refused_and_not_repeated():
    with pytest.raises(StoreError, match="settings") as e:
        Store(f"s3://kid:{SECRET}@kho/tinh")
    assert SECRET not in str(e.value) and "kid" not in str(e.value)


@pytest.mark.parametrize("uri", ["gs://kho/tinh", "az://kho/tinh"])
def test_another_object_store_is_refused_by_name(uri):
    with pytest.raises(StoreError, match="s3://"):
        Store(uri)


def test_half_a_key_pair_is_refused():
    with using(s3_access_key_id="kid"), pytest.raises(StoreError, match="together"):
        Store("s3://kho/tinh")


def test_the_secret_is_in_no_repr():
    with using(s3_endpoint="https://s3.tinh.gov.vn", s3_access_key_id="kid", s3_secret_access_key=SECRET) as s:
        assert SECRET not in repr(s) and SECRET not in repr(objectstore.endpoint("s3://kho/tinh"))
        assert "kid" in repr(s)
