"""Fields come from the CLI, the Cozy job, then the dev config; errors name the field and the places."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from browserkonnector import _errors as errors
from browserkonnector.runtime._config import (
    FieldsError,
    FieldSource,
    collect_sources,
    secret_values,
    validate_fields,
)


class Fields(BaseModel):
    login: str
    password: SecretStr
    base_url: str


def write_dev_config(folder: Path, fields: dict[str, object], params: dict[str, object] | None = None) -> Path:
    body = {"fields": fields}
    if params is not None:
        body["COZY_PARAMETERS"] = params
    path = folder / "konnector-dev-config.json"
    path.write_text("// dev config\n" + json.dumps(body))
    return path


def test_precedence_cli_then_file_then_dev_config(tmp_path: Path) -> None:
    write_dev_config(tmp_path, {"login": "dev", "password": "dev-pass", "base_url": "http://dev"})
    fields_file = tmp_path / "fields.json"
    fields_file.write_text('{"login": "file", /* c */ "password": "file-pass"}')
    config = collect_sources(tmp_path, fields_file=fields_file, cli_fields=["login=cli"], environ={})
    fields, _raw = validate_fields(Fields, config.sources)
    assert isinstance(fields, Fields)
    assert (fields.login, fields.password.get_secret_value(), fields.base_url) == ("cli", "file-pass", "http://dev")


def test_missing_field_names_the_field_and_every_source(tmp_path: Path) -> None:
    dev = write_dev_config(tmp_path, {"login": "dev"})
    config = collect_sources(tmp_path, environ={})
    with pytest.raises(FieldsError) as caught:
        validate_fields(Fields, config.sources)
    message = str(caught.value)
    assert caught.value.code == errors.INVALID_FIELDS
    assert "missing field 'password'" in message
    assert "missing field 'base_url'" in message
    assert str(dev) in message


def test_invalid_value_names_its_source_but_never_its_value(tmp_path: Path) -> None:
    class Strict(BaseModel):
        login: str
        port: int

    config = collect_sources(tmp_path, cli_fields=["port=not-a-number-s3cret"], environ={})
    with pytest.raises(FieldsError) as caught:
        validate_fields(Strict, [*config.sources, FieldSource("job", {"login": "x"})])
    assert "field 'port' (from --field)" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_without_a_model_required_names_are_checked(tmp_path: Path) -> None:
    config = collect_sources(None, cli_fields=["login=me"], environ={})
    with pytest.raises(FieldsError, match="missing field 'password'"):
        validate_fields(None, config.sources, required={"login", "password"})
    fields, _ = validate_fields(None, config.sources, required={"login"})
    assert fields.login == "me"  # type: ignore[union-attr]


def test_cozy_parameters_from_env_beat_the_dev_config(tmp_path: Path) -> None:
    write_dev_config(tmp_path, {}, {"secret": {"key": "dev-key"}})
    from_env = collect_sources(tmp_path, environ={"COZY_PARAMETERS": '{"secret": {"key": "env-key"}}'})
    assert from_env.parameters == {"secret": {"key": "env-key"}}
    assert collect_sources(tmp_path, environ={}).parameters == {"secret": {"key": "dev-key"}}


def test_bad_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(FieldsError, match="COZY_PARAMETERS is not valid JSON"):
        collect_sources(tmp_path, environ={"COZY_PARAMETERS": "{nope"})
    with pytest.raises(FieldsError, match="expected key=value"):
        collect_sources(tmp_path, cli_fields=["novalue"], environ={})
    with pytest.raises(FieldsError, match="does not exist"):
        collect_sources(tmp_path, fields_file=tmp_path / "absent.json", environ={})
    (tmp_path / "konnector-dev-config.json").write_text('{"fields": [1]}')
    with pytest.raises(FieldsError, match="'fields' must be an object"):
        collect_sources(tmp_path, environ={})


def test_secret_values_cover_names_models_and_parameters() -> None:
    fields = Fields(login="me", password=SecretStr("pw-123456"), base_url="http://x")
    raw = {"login": "me", "password": "pw-123456", "api_token": "tok-98765", "base_url": "http://x"}
    found = secret_values(fields, raw, secret_names={"login"}, parameters={"secret": {"k": "param-secret"}})
    assert {"pw-123456", "tok-98765", "param-secret", "me"} <= set(found)
    assert "http://x" not in found


@pytest.mark.parametrize("raw", ["null", "{}", " null "])
def test_cozy_parameters_null_or_empty_is_no_parameters(tmp_path: Path, raw: str) -> None:
    """The stack marshals a manifest without ``parameters`` as ``null``: no parameters, not an error."""
    config = collect_sources(tmp_path, environ={"COZY_PARAMETERS": raw})
    assert config.parameters == {}
    assert config.parameters_origin == "COZY_PARAMETERS"


def test_cozy_parameters_absent_falls_back_to_the_dev_config_or_nothing(tmp_path: Path) -> None:
    assert collect_sources(tmp_path, environ={}).parameters == {}
    write_dev_config(tmp_path, {}, {"key": "dev"})
    assert collect_sources(tmp_path, environ={}).parameters == {"key": "dev"}


def test_cozy_parameters_of_another_json_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(FieldsError, match="COZY_PARAMETERS: expected a JSON object, found list"):
        collect_sources(tmp_path, environ={"COZY_PARAMETERS": "[1]"})
