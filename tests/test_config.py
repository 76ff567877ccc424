import configparser
from pathlib import Path

import pytest

from hotspotd import config as config_mod
from hotspotd.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_load_and_mean_what_design_says():
    config = config_mod.load(None)
    assert config.portal.listen == ("0.0.0.0", 8080)
    assert config.admin.listen == ("127.0.0.1", 8081)
    assert config.site.timezone == "Africa/Nairobi"
    assert config.radius.require_message_authenticator is True
    assert config.queue.mode == "async"
    assert config.mpesa.transaction_type == "CustomerPayBillOnline"


def test_every_setting_is_documented_in_the_example_file():
    parser = configparser.ConfigParser(interpolation=None)
    text = (ROOT / "config.example.ini").read_text()
    parser.read_string(text)
    for setting in config_mod.SETTINGS:
        assert parser.has_option(setting.section, setting.key), f"[{setting.section}] {setting.key} missing"
        assert f"# {setting.help}\n{setting.key} =" in text, f"[{setting.section}] {setting.key} has no comment"
    assert text == config_mod.example_ini(), "regenerate config.example.ini from SETTINGS"


def test_wrong_value_names_the_setting_and_the_fix(tmp_path):
    path = tmp_path / "c.ini"
    path.write_text("[portal]\nlisten = 8080\n[radius]\nauth_port = 99999\n")
    with pytest.raises(ConfigError) as err:
        config_mod.load(path)
    message = str(err.value)
    assert "[portal] listen: must be host:port" in message
    assert "[radius] auth_port: must be a port number" in message
    assert "\n" not in message


def test_unknown_setting_is_an_error_not_ignored(tmp_path):
    path = tmp_path / "c.ini"
    path.write_text("[mpesa]\nconsumer_kye = abc\n")
    with pytest.raises(ConfigError, match=r"\[mpesa\] consumer_kye: unknown setting"):
        config_mod.load(path)


def test_missing_file_says_how_to_give_one(tmp_path):
    with pytest.raises(ConfigError, match="HOTSPOTD_CONFIG"):
        config_mod.load(tmp_path / "nope.ini")


def test_config_comes_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "c.ini"
    path.write_text("[site]\nname = Kibanda\n")
    monkeypatch.setenv("HOTSPOTD_CONFIG", str(path))
    assert config_mod.load().site.name == "Kibanda"


def test_problems_list_what_a_running_site_needs(config):
    assert config.problems() == []
    bare = config_mod.load(None)
    problems = "\n".join(bare.problems())
    assert "[mpesa] consumer_key" in problems and "[mpesa] callback_token" in problems


def test_callback_url_may_not_contain_words_daraja_rejects(config):
    bad = config_mod.load(None, overrides={
        "mpesa": {"consumer_key": "k", "consumer_secret": "s", "passkey": "p",
                  "callback_token": "x" * 20, "callback_url": "https://mpesa.example.com"}})
    assert any("must not contain 'mpesa'" in p for p in bad.problems())
    assert config.callback_url.endswith("/api/payments/stk-callback/" + config.mpesa.callback_token)
