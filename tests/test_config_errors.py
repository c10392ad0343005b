"""Settings precedence, unknown names and bad types, secrets never written; errors cross the process boundary."""
from __future__ import annotations

import pytest

from imaginarium.core import errors
from imaginarium.core.config import Secrets, Settings, documented_defaults


def test_precedence_defaults_file_env(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[device]\ndevice = "cuda"\n[retrieval]\ntop_k = 4\n')
    s = Settings.load(path, env={"IMAGINARIUM_RETRIEVAL_TOP_K": "3"})
    assert s.device.device == "cuda" and s.retrieval.top_k == 3 and s.t2i.steps == 28


def test_unknown_and_badly_typed_settings_are_named(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[device]\ndevise = 'cpu'\n")
    with pytest.raises(errors.ConfigError, match="device.devise"):
        Settings.load(path, env={})
    with pytest.raises(errors.ConfigError, match="retrieval.top_k"):
        Settings().update({"retrieval": {"top_k": "many"}})
    with pytest.raises(errors.ConfigError, match="not valid TOML"):
        path.write_text("[device\n")
        Settings.load(path, env={})
    with pytest.raises(errors.ConfigError, match="does not exist"):
        Settings.load(tmp_path / "missing.toml", env={})


def test_every_setting_is_documented() -> None:
    rows = documented_defaults()
    assert len(rows) > 20 and all(doc for _, _, doc in rows)


def test_secrets_come_from_prefs_or_env_and_are_never_saved(tmp_path) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-from-env", "DDS_API_TOKEN": "dds-from-env"}
    secrets = Secrets.gather({"anthropic_api_key": "sk-ant-from-prefs"}, env=env)
    assert secrets.anthropic_api_key == "sk-ant-from-prefs" and secrets.dds_api_token == "dds-from-env"
    assert "sk-ant" not in repr(secrets) and "dds-from" not in repr(secrets)
    assert "sk-ant" not in repr([secrets.anthropic_api_key])
    path = Settings.load(env=env).save(tmp_path / "saved.toml")
    text = path.read_text()
    assert "sk-ant" not in text and "dds-from" not in text
    assert Settings.load(path, env={}).to_dict() == Settings.load(env=env).to_dict()


def test_errors_round_trip_through_dicts() -> None:
    err = errors.MissingWeightsError("No depth model at weights/x.", path="weights/x")
    back = errors.error_from_dict(err.to_dict())
    assert type(back) is errors.MissingWeightsError and back.fix == err.fix and back.details["path"] == "weights/x"
    unknown = errors.error_from_dict({"kind": "Whatever", "message": "m"})
    assert type(unknown) is errors.ImaginariumError and unknown.fix
    schema = errors.error_from_dict(errors.SchemaError("Box3D.size[0]", -1, "must be >= 0").to_dict())
    assert isinstance(schema, errors.SchemaError) and schema.field == "Box3D.size[0]"
