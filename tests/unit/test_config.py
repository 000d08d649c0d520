"""Configuration sources, precedence and validation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ims_provider.auth import AkSkAuth, TokenAuth
from ims_provider.config import SOURCES, ProviderConfig, load_config
from ims_provider.errors import ConfigError
from ims_provider.hostpool import default_workers

SK = "secret-key-value-1234567890"
TOKEN = "auth-token-value-abcdefghijkl"
STS = "security-token-value-zyxwvut"
BASE = {"ims:region": "cn-north-4", "ims:accessKey": "AKID0001", "ims:secretKey": SK}


def getter(values: dict[str, str]) -> Callable[[str], str | None]:
    return values.get


def load(config: dict[str, str] | None = None, env: dict[str, str] | None = None) -> ProviderConfig:
    return load_config(getter(dict(BASE) if config is None else config), env or {})


def test_minimal_config_and_defaults() -> None:
    cfg = load()
    assert cfg.region == "cn-north-4"
    assert cfg.project_id is None
    assert cfg.endpoint == "https://ims.cn-north-4.myhuaweicloud.com"
    assert cfg.iam_endpoint == "https://iam.cn-north-4.myhuaweicloud.com"
    assert (cfg.access_key, cfg.secret_key, cfg.security_token, cfg.auth_token) == (
        "AKID0001",
        SK,
        None,
        None,
    )
    assert (cfg.ca_bundle, cfg.insecure, cfg.progress, cfg.debug) == (None, False, True, False)


@pytest.mark.parametrize("field", ["region", "project_id", "access_key", "secret_key", "security_token"])
def test_each_source_in_precedence_order(field: str) -> None:
    """Every key and env var is honoured, and an earlier one always beats every later one."""
    source = SOURCES[field]
    names = list(source.keys) + list(source.env)
    attr = field
    for winner_index, winner in enumerate(names):
        config = {k: v for k, v in BASE.items() if k not in source.keys}
        env: dict[str, str] = {}
        for index, name in enumerate(names[winner_index:], start=winner_index):
            value = f"value{index}-for-{field}"
            if name in source.keys:
                config[name] = value
            else:
                env[name] = value
        cfg = load_config(getter(config), env)
        assert getattr(cfg, attr) == f"value{winner_index}-for-{field}", winner
        expected_where = f"config {winner}" if winner in source.keys else f"env {winner}"
        assert cfg.describe()["sources"][field] == expected_where  # type: ignore[index]


def test_stack_config_beats_environment() -> None:
    cfg = load(
        env={"HW_REGION_NAME": "ap-southeast-1", "HW_ACCESS_KEY": "ENVAK", "HW_SECRET_KEY": "ENVSK123"}
    )
    assert cfg.region == "cn-north-4"
    assert cfg.access_key == "AKID0001"


def test_environment_only() -> None:
    env = {"HUAWEICLOUD_SDK_REGION": "cn-east-3", "HUAWEICLOUD_SDK_AK": "AK2", "HUAWEICLOUD_SDK_SK": SK}
    cfg = load_config(getter({}), env)
    assert (cfg.region, cfg.access_key, cfg.secret_key) == ("cn-east-3", "AK2", SK)


def test_blank_values_are_missing() -> None:
    cfg = load({**BASE, "ims:region": "  ", "huaweicloud:region": "eu-west-0"}, {"HW_REGION_NAME": ""})
    assert cfg.region == "eu-west-0"


def test_values_are_stripped() -> None:
    cfg = load({**BASE, "ims:projectId": "  abc  "})
    assert cfg.project_id == "abc"


def test_region_required_with_every_source_named() -> None:
    with pytest.raises(ConfigError) as info:
        load({"ims:accessKey": "AK", "ims:secretKey": SK})
    text = str(info.value)
    for name in SOURCES["region"].keys + SOURCES["region"].env:
        assert name in text


def test_region_optional_when_project_and_endpoint_given() -> None:
    cfg = load(
        {
            "ims:projectId": "p1",
            "ims:endpoint": "http://127.0.0.1:9000",
            **{k: BASE[k] for k in BASE if k != "ims:region"},
        }
    )
    assert cfg.region == ""
    assert cfg.iam_endpoint == "http://127.0.0.1:9000"
    with pytest.raises(ConfigError):
        load({"ims:endpoint": "http://127.0.0.1:9000", "ims:accessKey": "AK", "ims:secretKey": SK})


def test_invalid_region() -> None:
    with pytest.raises(ConfigError, match=r"ims:region"):
        load({**BASE, "ims:region": "cn-north-4/../evil"})


def test_missing_credentials_lists_every_key_and_var_but_no_values() -> None:
    with pytest.raises(ConfigError) as info:
        load({"ims:region": "cn-north-4"}, {"HW_SECURITY_TOKEN": STS})
    text = str(info.value)
    for field in ("access_key", "secret_key", "security_token", "auth_token"):
        for name in SOURCES[field].keys + SOURCES[field].env:
            assert name in text, name
    assert STS not in text


def test_access_key_without_secret_key() -> None:
    with pytest.raises(ConfigError) as info:
        load({"ims:region": "r1", "ims:accessKey": "AKONLY"})
    assert "HW_SECRET_KEY" in str(info.value) and "ims:secretKey" in str(info.value)
    assert "AKONLY" not in str(info.value)


def test_secret_key_without_access_key() -> None:
    with pytest.raises(ConfigError) as info:
        load({"ims:region": "r1"}, {"HW_SECRET_KEY": SK})
    assert "HW_ACCESS_KEY" in str(info.value)
    assert SK not in str(info.value)


def test_token_only() -> None:
    cfg = load({"ims:region": "r1", "ims:projectId": "p"}, {"HW_AUTH_TOKEN": TOKEN})
    assert cfg.auth_token == TOKEN and cfg.access_key is None
    auth = cfg.auth()
    assert isinstance(auth, TokenAuth) and auth.project_id == "p"


def test_aksk_preferred_over_token_and_security_token_kept() -> None:
    cfg = load({**BASE, "ims:authToken": TOKEN, "huaweicloud:securityToken": STS})
    assert cfg.auth_token is None and cfg.security_token == STS
    auth = cfg.auth(project_id="override")
    assert isinstance(auth, AkSkAuth) and auth.project_id == "override"


def test_security_token_ignored_with_token_auth() -> None:
    cfg = load({"ims:region": "r1", "ims:authToken": TOKEN, "ims:securityToken": STS})
    assert cfg.security_token is None


def test_auth_without_credentials_raises() -> None:
    cfg = ProviderConfig(region="r", project_id=None, endpoint="https://e", iam_endpoint="https://i")
    with pytest.raises(ConfigError):
        cfg.auth()


def test_endpoint_override_and_iam_default() -> None:
    cfg = load({**BASE, "ims:endpoint": "http://localhost:8080/"})
    assert cfg.endpoint == "http://localhost:8080"
    assert cfg.iam_endpoint == "http://localhost:8080"
    cfg = load(env={"IMS_ENDPOINT": "https://ims.example.test"})
    assert cfg.endpoint == "https://ims.example.test"
    assert cfg.iam_endpoint == "https://ims.example.test"


@pytest.mark.parametrize("bad", ["ftp://x", "localhost:8080", "http://", "https://h/?q=1", "not a url"])
def test_endpoint_must_be_http_url(bad: str) -> None:
    with pytest.raises(ConfigError, match="ims:endpoint"):
        load({**BASE, "ims:endpoint": bad})


def test_iam_endpoint_sources() -> None:
    cfg = load({**BASE, "huaweicloud:authUrl": "https://iam.myhuaweicloud.com:443/v3"})
    assert cfg.iam_endpoint == "https://iam.myhuaweicloud.com:443"
    cfg = load({**BASE, "huaweicloud:authUrl": "https://iam.example/v3/"})
    assert cfg.iam_endpoint == "https://iam.example"
    cfg = load({**BASE, "ims:iamEndpoint": "https://iam.a", "huaweicloud:authUrl": "https://iam.b/v3"})
    assert cfg.iam_endpoint == "https://iam.a"
    cfg = load({**BASE, "ims:iamEndpoint": "https://iam.a", "ims:endpoint": "http://127.0.0.1:1"})
    assert cfg.iam_endpoint == "https://iam.a"
    with pytest.raises(ConfigError, match="huaweicloud:authUrl"):
        load({**BASE, "huaweicloud:authUrl": "iam.example"})


def test_ca_bundle(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert load({**BASE, "ims:caBundle": str(bundle)}).ca_bundle == str(bundle)
    assert load(env={"IMS_CA_BUNDLE": str(bundle)}).ca_bundle == str(bundle)
    with pytest.raises(ConfigError, match="IMS_CA_BUNDLE"):
        load(env={"IMS_CA_BUNDLE": str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigError, match="ims:caBundle"):
        load({**BASE, "ims:caBundle": str(tmp_path)})


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("ims:insecure", "true", True),
        ("ims:insecure", "False", False),
        ("ims:progress", "false", False),
        ("ims:progress", "TRUE", True),
        ("ims:debug", "1", True),
        ("ims:debug", "no", False),
    ],
)
def test_flags(key: str, raw: str, expected: bool) -> None:
    cfg = load({**BASE, key: raw})
    attr = key.split(":")[1]
    assert getattr(cfg, attr) is expected


def test_bad_flag_value() -> None:
    with pytest.raises(ConfigError, match="ims:insecure"):
        load({**BASE, "ims:insecure": "maybe"})


def test_repr_and_describe_hide_secrets() -> None:
    cfg = load({**BASE, "ims:securityToken": STS})
    for text in (repr(cfg), str(cfg), repr(cfg.describe())):
        assert SK not in text and STS not in text
        assert "AKID0001" not in text
    described = cfg.describe()
    assert described["auth"] == "aksk+securityToken"
    assert described["access_key"] == "***"
    token_cfg = load({"ims:region": "r1", "ims:authToken": TOKEN})
    assert TOKEN not in repr(token_cfg) and TOKEN not in repr(token_cfg.describe())
    assert token_cfg.describe()["auth"] == "token"


def test_describe_masks_long_access_key() -> None:
    cfg = load({**BASE, "ims:accessKey": "ABCDEFGHIJKLMNOP"})
    assert cfg.describe()["access_key"] == "ABCD***"


def test_config_is_frozen_and_hashable() -> None:
    cfg = load()
    with pytest.raises(AttributeError):
        cfg.region = "x"  # type: ignore[misc]
    assert hash(cfg) == hash(load())
    assert cfg.secrets == (SK,)


def test_max_parallel_default_is_never_below_the_engines_own() -> None:
    assert load().max_parallel == default_workers({})
    assert load(env={"PULUMI_PARALLEL": "700"}).max_parallel == 700
    assert load().describe()["max_parallel"] == load().max_parallel


@pytest.mark.parametrize("raw", ["4", "16", "64", "1024"])
def test_max_parallel(raw: str) -> None:
    cfg = load({**BASE, "ims:maxParallel": raw}, env={"PULUMI_PARALLEL": "700"})
    assert cfg.max_parallel == int(raw)  # the setting beats every default
    assert cfg.describe()["sources"]["max_parallel"] == "config ims:maxParallel"  # type: ignore[index]


@pytest.mark.parametrize("raw", ["3", "1", "0", "-8", "1025", "8.5", "many", "1e3"])
def test_max_parallel_must_be_a_whole_number_from_4_to_1024(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"ims:maxParallel must be a whole number from 4 to 1024") as info:
        load({**BASE, "ims:maxParallel": raw})
    assert "pulumi up --parallel" in str(info.value)
