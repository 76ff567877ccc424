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


def test_the_sms_and_initiator_settings_are_off_until_given(config):
    assert config.mpesa.pull_interval == 300 and config.mpesa.initiator == "" and config.mpesa.certificate == ""
    assert config.sms.provider == "" and config.sms.base_url == "https://api.africastalking.com"
    assert config.result_url.endswith("/api/payments/result/" + config.mpesa.callback_token)
    assert config.result_timeout_url.endswith("/api/payments/timeout/" + config.mpesa.callback_token)
    with pytest.raises(ConfigError, match=r"\[sms\] provider: must be one of africastalking, \(empty\)"):
        config_mod.load(None, overrides={"sms": {"provider": "twilio"}})


def _problems(config, **sections) -> list[str]:
    values = {"mpesa": {"consumer_key": "k", "consumer_secret": "s", "passkey": "p", "callback_token": "x" * 20}}
    for section, changes in sections.items():
        values.setdefault(section, {}).update(changes)
    return config_mod.load(None, overrides=values).problems()


def test_check_config_names_what_the_sms_gateway_still_needs(config):
    assert _problems(config) == []
    assert _problems(config, sms={"provider": "africastalking"}) == [
        "[sms] username: required when [sms] provider is set", "[sms] api_key: required when [sms] provider is set"]
    assert _problems(config, sms={"provider": "africastalking", "username": "hotspot", "api_key": "k"}) == []
    sandbox = {"provider": "africastalking", "username": "sandbox", "api_key": "k"}
    assert any("sandbox" in p for p in _problems(config, sms=sandbox))
    assert _problems(config, sms={**sandbox, "base_url": "https://api.sandbox.africastalking.com"}) == []
    assert _problems(config, sms={**sandbox, "base_url": "http://127.0.0.1:8099"}) == []  # a simulator


def test_check_config_names_what_transaction_status_and_refunds_still_need(config, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from datetime import datetime, timedelta, timezone

    assert _problems(config, mpesa={"initiator": "api"}) == [
        "[mpesa] initiator, initiator_password and certificate: give all three (Transaction Status and refunds), "
        "or none"]
    given = {"initiator": "api", "initiator_password": "pw", "certificate": str(tmp_path / "missing.cer")}
    [problem] = _problems(config, mpesa=given)
    assert problem.startswith("[mpesa] certificate: cannot read") and "missing.cer" in problem
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = datetime.now(timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    (tmp_path / "good.cer").write_bytes(certificate.public_bytes(serialization.Encoding.DER))
    assert _problems(config, mpesa={**given, "certificate": str(tmp_path / "good.cer")}) == []
    (tmp_path / "text.cer").write_text("hello")
    assert "not an X.509 certificate" in _problems(config, mpesa={**given, "certificate": str(tmp_path / "text.cer")})[0]
    assert _problems(config, mpesa={"pull_interval": "200000"}) == [
        "[mpesa] pull_interval: at most 172800 seconds (Daraja keeps 48 hours to pull)"]


def test_check_config_prints_the_problems(tmp_path, capsys):
    from hotspotd import cli

    path = tmp_path / "c.ini"
    path.write_text(f"[site]\nstate_dir = {tmp_path}\n[mpesa]\nconsumer_key = k\nconsumer_secret = s\npasskey = p\n"
                    f"callback_token = {'x' * 20}\n[sms]\nprovider = africastalking\nusername = hotspot\n")
    path.chmod(0o600)
    assert cli.main(["--config", str(path), "check-config"]) == 1
    assert "[sms] api_key: required when [sms] provider is set" in capsys.readouterr().out
