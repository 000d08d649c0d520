"""Configuration sources, precedence and validation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from ims_provider.auth import AkSkAuth, TokenAuth
from ims_provider.config import SOURCES, ProviderConfig, load_config
from ims_provider.credentials import CREDENTIALS, KeySet, TokenSource, credentials_table
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


def sent_headers(cfg: ProviderConfig) -> requests.structures.CaseInsensitiveDict[str]:
    """The headers a request signed with this configuration's credentials carries."""
    req = requests.Request("GET", "https://ims.cn-north-4.myhuaweicloud.com/v2/cloudimages").prepare()
    return cfg.auth(project_id="p")(req).headers


def place(source: KeySet | TokenSource, values: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """``values`` under ``source``'s names, as (stack config, environment)."""
    named = dict(zip(source.names, values, strict=True))
    return (named, {}) if source.origin == "config" else ({}, named)


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


@pytest.mark.parametrize("field", ["region", "project_id"])
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


def values_for(index: int, source: KeySet | TokenSource) -> tuple[str, ...]:
    return tuple(f"value{index}-{n}" for n in source.names)


@pytest.mark.parametrize("winner", range(len(CREDENTIALS)))
def test_each_credential_source_in_precedence_order(winner: int) -> None:
    """With this source and every later one complete, all credentials come from this one, and the debug
    line says so."""
    config: dict[str, str] = {"ims:region": "r1"}
    env: dict[str, str] = {}
    for index in range(winner, len(CREDENTIALS)):
        stack, environ = place(CREDENTIALS[index], values_for(index, CREDENTIALS[index]))
        config.update(stack)
        env.update(environ)
    cfg = load_config(getter(config), env)
    chosen = CREDENTIALS[winner]
    expected = values_for(winner, chosen)
    if isinstance(chosen, KeySet):
        assert (cfg.access_key, cfg.secret_key, cfg.security_token, cfg.auth_token) == (*expected, None)
    else:
        assert (cfg.access_key, cfg.secret_key, cfg.security_token, cfg.auth_token) == (
            None,
            None,
            None,
            *expected,
        )
    assert cfg.describe()["sources"]["credentials"] == chosen.label()  # type: ignore[index]


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
    for source in CREDENTIALS:
        for name in source.names:
            assert name in text, name
    assert STS not in text


# --- credentials come as a set: the mixed-source cases -----------------------------------------------


@pytest.mark.parametrize(
    "stale", ["HW_SECURITY_TOKEN", "HUAWEICLOUD_SDK_SECURITY_TOKEN", "OS_SECURITY_TOKEN"]
)
def test_stale_env_security_token_is_not_sent_with_stack_keys(stale: str) -> None:
    cfg = load(env={stale: STS})
    assert cfg.security_token is None and STS not in cfg.secrets
    headers = sent_headers(cfg)
    assert "X-Security-Token" not in headers
    assert headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=AKID0001,")


def test_security_token_of_another_stack_family_is_not_used() -> None:
    cfg = load({**BASE, "huaweicloud:securityToken": STS})
    assert cfg.security_token is None
    assert "X-Security-Token" not in sent_headers(cfg)


def test_security_token_of_the_chosen_set_is_sent() -> None:
    cfg = load(
        {"ims:region": "r1"},
        {
            "HW_ACCESS_KEY": "ENVAK",
            "HW_SECRET_KEY": SK,
            "HW_SECURITY_TOKEN": STS,
            "OS_SECURITY_TOKEN": "other",
        },
    )
    assert (cfg.access_key, cfg.security_token) == ("ENVAK", STS)
    assert sent_headers(cfg)["X-Security-Token"] == STS
    assert cfg.describe()["auth"] == "aksk+securityToken"


@pytest.mark.parametrize(
    "env_keys",
    [
        {"HW_ACCESS_KEY": "ENVAK", "HW_SECRET_KEY": SK},
        {"HUAWEICLOUD_SDK_AK": "ENVAK", "HUAWEICLOUD_SDK_SK": SK, "HUAWEICLOUD_SDK_SECURITY_TOKEN": STS},
        {"OS_ACCESS_KEY": "ENVAK", "OS_SECRET_KEY": SK},
    ],
)
def test_stack_auth_token_beats_keys_from_the_environment(env_keys: dict[str, str]) -> None:
    cfg = load({"ims:region": "r1", "ims:authToken": TOKEN}, env_keys)
    assert (cfg.auth_token, cfg.access_key, cfg.secret_key, cfg.security_token) == (TOKEN, None, None, None)
    headers = sent_headers(cfg)
    assert headers["X-Auth-Token"] == TOKEN
    assert "Authorization" not in headers and "X-Security-Token" not in headers
    assert cfg.describe()["sources"]["credentials"] == "config ims:authToken"  # type: ignore[index]


@pytest.mark.parametrize("family", ["ims", "huaweicloud"])
def test_stack_keys_beat_stack_auth_token(family: str) -> None:
    keys = {f"{family}:accessKey": "AKID0001", f"{family}:secretKey": SK, f"{family}:securityToken": STS}
    cfg = load({"ims:region": "r1", "ims:authToken": TOKEN, **keys}, {"HW_AUTH_TOKEN": "env-token-value"})
    assert (cfg.access_key, cfg.secret_key, cfg.security_token, cfg.auth_token) == ("AKID0001", SK, STS, None)
    auth = cfg.auth(project_id="override")
    assert isinstance(auth, AkSkAuth) and auth.project_id == "override"
    assert "X-Auth-Token" not in sent_headers(cfg)


def test_env_auth_token_comes_after_every_env_key_set() -> None:
    cfg = load({"ims:region": "r1"}, {"HW_AUTH_TOKEN": TOKEN, "OS_ACCESS_KEY": "OSAK", "OS_SECRET_KEY": SK})
    assert (cfg.access_key, cfg.auth_token) == ("OSAK", None)


def test_huaweicloud_keys_beat_environment_keys_whole() -> None:
    cfg = load(
        {"ims:region": "r1", "huaweicloud:accessKey": "HWCAK", "huaweicloud:secretKey": SK},
        {"HW_ACCESS_KEY": "ENVAK", "HW_SECRET_KEY": "env-secret", "HW_SECURITY_TOKEN": STS},
    )
    assert (cfg.access_key, cfg.secret_key, cfg.security_token) == ("HWCAK", SK, None)
    assert cfg.secrets == (SK,)
    assert "X-Security-Token" not in sent_headers(cfg)


@pytest.mark.parametrize(
    ("config", "env", "given", "missing"),
    [
        ({"ims:accessKey": "AKONLY"}, {}, "config ims:accessKey", "config ims:secretKey"),
        (
            {"ims:accessKey": "AKONLY", "ims:securityToken": STS, "huaweicloud:accessKey": "A2"},
            {"HW_ACCESS_KEY": "A3", "HW_SECRET_KEY": "env-secret"},
            "config ims:accessKey",
            "config ims:secretKey",
        ),
        (
            {"huaweicloud:accessKey": "AKONLY", "huaweicloud:secretKey": ""},
            {"HW_ACCESS_KEY": "A3", "HW_SECRET_KEY": "env-secret"},
            "config huaweicloud:accessKey",
            "config huaweicloud:secretKey",
        ),
        (
            {"ims:accessKey": "AKONLY", "ims:authToken": TOKEN},
            {},
            "config ims:accessKey",
            "config ims:secretKey",
        ),
        (
            {},
            {"HW_ACCESS_KEY": "AKONLY", "HUAWEICLOUD_SDK_AK": "A2", "HUAWEICLOUD_SDK_SK": "sdk-secret"},
            "env HW_ACCESS_KEY",
            "env HW_SECRET_KEY",
        ),
    ],
)
def test_access_key_without_its_secret_key_is_an_error_even_when_a_later_source_is_complete(
    config: dict[str, str], env: dict[str, str], given: str, missing: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load({"ims:region": "r1", **config}, env)
    text = str(info.value)
    assert f"{given} is set but {missing} is not" in text
    for value in ("AKONLY", TOKEN, STS, "env-secret", "sdk-secret"):
        assert value not in text


@pytest.mark.parametrize(
    ("config", "env", "given", "missing"),
    [
        (
            {"ims:secretKey": SK},
            {"HW_ACCESS_KEY": "ENVAK", "HW_SECRET_KEY": "env-secret"},
            "config ims:secretKey",
            "config ims:accessKey",
        ),
        ({}, {"HW_SECRET_KEY": SK}, "env HW_SECRET_KEY", "env HW_ACCESS_KEY"),
        (
            {"ims:authToken": TOKEN, "huaweicloud:secretKey": SK},
            {},
            "config huaweicloud:secretKey",
            "config huaweicloud:accessKey",
        ),
    ],
)
def test_secret_key_without_its_access_key_is_an_error(
    config: dict[str, str], env: dict[str, str], given: str, missing: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load({"ims:region": "r1", **config}, env)
    text = str(info.value)
    assert f"{given} is set but {missing} is not" in text
    assert SK not in text and TOKEN not in text and "env-secret" not in text


def test_a_security_token_alone_does_not_make_a_source_count() -> None:
    cfg = load(
        {"ims:region": "r1", "ims:securityToken": STS},
        {"HW_SECURITY_TOKEN": STS, "HUAWEICLOUD_SDK_AK": "SDKAK", "HUAWEICLOUD_SDK_SK": SK},
    )
    assert (cfg.access_key, cfg.secret_key, cfg.security_token) == ("SDKAK", SK, None)
    assert cfg.describe()["sources"]["credentials"] == (  # type: ignore[index]
        "env HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK/HUAWEICLOUD_SDK_SECURITY_TOKEN"
    )


def test_a_half_set_after_the_chosen_source_is_never_looked_at() -> None:
    cfg = load({"ims:region": "r1", "ims:authToken": TOKEN}, {"HW_ACCESS_KEY": "AKONLY"})
    assert cfg.auth_token == TOKEN


def test_describe_shows_the_chosen_set_and_no_secret() -> None:
    cfg = load(
        {
            "ims:region": "r1",
            "ims:authToken": TOKEN,
            "huaweicloud:accessKey": "HWCAK1234567",
            "huaweicloud:secretKey": SK,
        },
        {"HW_ACCESS_KEY": "ENVAK", "HW_SECRET_KEY": "env-secret", "HW_SECURITY_TOKEN": STS},
    )
    described = cfg.describe()
    assert described["sources"]["credentials"] == (  # type: ignore[index]
        "config huaweicloud:accessKey/huaweicloud:secretKey/huaweicloud:securityToken"
    )
    assert described["auth"] == "aksk" and described["access_key"] == "HWCA***"
    for secret in (SK, TOKEN, STS, "env-secret", "HWCAK1234567"):
        assert secret not in repr(described)


def test_token_only() -> None:
    cfg = load({"ims:region": "r1", "ims:projectId": "p"}, {"HW_AUTH_TOKEN": TOKEN})
    assert cfg.auth_token == TOKEN and cfg.access_key is None
    auth = cfg.auth()
    assert isinstance(auth, TokenAuth) and auth.project_id == "p"


def test_security_token_ignored_with_token_auth() -> None:
    cfg = load({"ims:region": "r1", "ims:authToken": TOKEN}, {"HW_SECURITY_TOKEN": STS})
    assert cfg.security_token is None
    assert "X-Security-Token" not in sent_headers(cfg)


def test_credentials_table_is_the_precedence_order() -> None:
    """The README's table is written from CREDENTIALS: one row per source, in the order they win."""
    rows = credentials_table().splitlines()[2:]
    assert len(rows) == len(CREDENTIALS)
    for order, (row, source) in enumerate(zip(rows, CREDENTIALS, strict=True), start=1):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == str(order)
        named = cells[2] if source.origin == "config" else cells[3]
        assert named == ", ".join(f"`{n}`" for n in source.names)
    assert [c.strip() for c in rows[2].strip("|").split("|")][1:3] == ["IAM token", "`ims:authToken`"]


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


def test_the_stack_timing_settings_reach_every_lifecycle() -> None:
    """ims:recoveryGrace, ims:pollDelay and ims:progress are what the host's operations run with."""
    from ims_provider.client import ImsClient
    from ims_provider.operations import DEFAULT_RECOVERY_GRACE, ImageOperations
    from ims_provider.provider import _options

    cfg = load({**BASE, "ims:recoveryGrace": "7", "ims:pollDelay": "0.5", "ims:progress": "false"})
    options = _options(cfg)
    assert (options.recovery_grace, options.poll_delay, options.progress) == (7.0, 0.5, False)
    assert ImageOperations(ImsClient(cfg), options).recovery_grace == 7.0
    assert ImageOperations(ImsClient(load()), _options(load())).recovery_grace == DEFAULT_RECOVERY_GRACE

    from ims_provider.provider import (
        ImageCopyProvider,
        ImageShareAccepterProvider,
        ImageShareProvider,
        PrivateImageProvider,
    )

    image = PrivateImageProvider()._build(ImsClient(cfg), cfg)
    assert image.creation.recovery_grace == image.upkeep.recovery_grace == 7.0
    for provider in (ImageCopyProvider(), ImageShareProvider(), ImageShareAccepterProvider()):
        assert provider._build(ImsClient(cfg), cfg).options == options, type(provider).__name__
