import pytest

from hygie.lib import storeurl
from hygie.lib.env import ConfigError

KEYS = {"endpoint": "", "region": "", "access_key": "AKIA", "secret_key": "s3cr3t"}


def test_an_empty_document_store_is_the_local_directory():
    assert storeurl.document_store("", **KEYS) == {"kind": "local"}


def test_it_reads_bucket_prefix_endpoint_and_region():
    store = storeurl.document_store(
        "s3://hygie-docs/cabinet-12/documents/",
        endpoint="https://s3.fr-par.scw.cloud", region="fr-par", access_key="AKIA", secret_key="s3cr3t",
    )
    assert store == {
        "kind": "s3", "bucket": "hygie-docs", "prefix": "cabinet-12/documents", "endpoint": "https://s3.fr-par.scw.cloud",
        "region": "fr-par", "access_key": "AKIA", "secret_key": "s3cr3t",
    }
    assert storeurl.document_store("s3://hygie-docs", **KEYS)["prefix"] == ""


@pytest.mark.parametrize("url", [
    "/srv/documents", "https://bucket/prefix", "s3://", "s3://Bucket_Majuscule/x", "s3://ab/x",
    "s3://bucket/../x", "s3://bucket/x?versionId=1", "s3://user:pass@bucket/x",
])
def test_it_refuses_what_is_not_an_s3_url_in_french(url):
    with pytest.raises(ConfigError, match="HYGIE_DOCUMENT_STORE doit"):
        storeurl.document_store(url, **KEYS)


def test_it_asks_for_the_keys_without_showing_any():
    with pytest.raises(ConfigError, match="HYGIE_DOCUMENT_STORE_SECRET_KEY") as exc:
        storeurl.document_store("s3://bucket-x/p", endpoint="", region="", access_key="AKIA", secret_key="")
    assert "AKIA" not in str(exc.value)


def test_it_refuses_credentials_in_the_endpoint():
    with pytest.raises(ConfigError, match="HYGIE_DOCUMENT_STORE_ENDPOINT"):
        storeurl.document_store("s3://bucket-x/p", **{**KEYS, "endpoint": "https://key:secret@s3.example"})


def test_the_cache_is_the_database_unless_redis_is_named():
    assert storeurl.cache("")["BACKEND"].endswith("DatabaseCache")
    redis = storeurl.cache("redis://127.0.0.1:6379/2")
    assert redis == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/2",
        "KEY_PREFIX": "hygie",
    }
    assert storeurl.cache("rediss://cache.example:6380/0")["LOCATION"].startswith("rediss://")


@pytest.mark.parametrize("url", ["memcached://127.0.0.1:11211", "127.0.0.1:6379", "redis://"])
def test_it_refuses_a_cache_url_it_cannot_use(url):
    with pytest.raises(ConfigError, match="HYGIE_CACHE_URL"):
        storeurl.cache(url)
