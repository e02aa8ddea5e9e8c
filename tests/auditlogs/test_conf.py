"""auditlogs/conf.py is the one list of AUDITLOG_* settings: the README agrees with it, the code
reads nothing it does not declare, Django's settings override it, and the environment sets it."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from auditlogs import conf
from auditlogs.conf import app_settings

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_readme_table_rows_are_the_declared_settings():
    readme = (ROOT / "README.md").read_text().splitlines()
    rows = [line for line in readme if line.startswith("| `AUDITLOG_")]
    assert "\n".join(rows) == conf.readme_rows(), (
        "README.md's AUDITLOG_* rows differ from auditlogs/conf.py; paste the output of "
        'python -c "from auditlogs.conf import readme_rows; print(readme_rows())"'
    )


def test_every_setting_the_code_names_is_declared():
    sources = [*ROOT.glob("auditlogs/**/*.py"), *ROOT.glob("integrations/**/*.py"),
               *ROOT.glob("config/*.py")]
    sources.remove(ROOT / "auditlogs" / "conf.py")
    named = {name for path in sources for name in re.findall(r"AUDITLOG_[A-Z_]+\b",
                                                            path.read_text())}
    assert named - set(conf.BY_NAME) == set()


def test_app_settings_follow_django_settings_and_fall_back_to_the_default(settings):
    settings.AUDITLOG_METADATA_MAX_BYTES = 10
    assert app_settings.METADATA_MAX_BYTES == 10
    del settings.AUDITLOG_METADATA_MAX_BYTES
    assert app_settings.METADATA_MAX_BYTES == 8192


def test_an_undeclared_name_is_an_error():
    with pytest.raises(AttributeError, match="AUDITLOG_PAGE_SIZES"):
        app_settings.PAGE_SIZES  # noqa: B018


def test_the_environment_sets_what_it_may_and_bad_values_stop_start_up(monkeypatch, tmp_path):
    monkeypatch.setenv("AUDITLOG_SIGNING_KEY", "a key")
    monkeypatch.setenv("AUDITLOG_WEBHOOK_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("AUDITLOG_RETIRED_PUBLIC_KEYS", "one, two")
    monkeypatch.setenv("AUDITLOG_PAGE_SIZE", "7")  # not read from the environment
    values = conf.from_environment(debug=False, base_dir=tmp_path)
    assert values["AUDITLOG_WEBHOOK_ALLOW_LOOPBACK"] is True
    assert values["AUDITLOG_RETIRED_PUBLIC_KEYS"] == ["one", "two"]
    assert values["AUDITLOG_PAGE_SIZE"] == 50
    assert values["AUDITLOG_SIGNING_KEY_GENERATE"] is False
    assert set(values) == set(conf.BY_NAME)
    monkeypatch.setenv("AUDITLOG_VERIFY_WINDOW", "0")
    with pytest.raises(ImproperlyConfigured, match="AUDITLOG_VERIFY_WINDOW must be 1 or more"):
        conf.from_environment(debug=False, base_dir=tmp_path)
    monkeypatch.setenv("AUDITLOG_VERIFY_WINDOW", "1000")
    monkeypatch.setenv("AUDITLOG_VERIFY_WORKERS", "-1")
    with pytest.raises(ImproperlyConfigured, match="AUDITLOG_VERIFY_WORKERS"):
        conf.from_environment(debug=False, base_dir=tmp_path)
    monkeypatch.setenv("AUDITLOG_VERIFY_WORKERS", "0")
    monkeypatch.setenv("AUDITLOG_WEBHOOK_TIMEOUT", "ten")
    with pytest.raises(ImproperlyConfigured, match="AUDITLOG_WEBHOOK_TIMEOUT"):
        conf.from_environment(debug=False, base_dir=tmp_path)


def test_a_signing_key_is_generated_only_in_debug_and_only_without_any_key(monkeypatch,
                                                                          tmp_path):
    """Without DEBUG nothing is refused at start-up (a web process has only the public key;
    `--generate-key` runs before any key exists): the system check auditlogs.E001 refuses a
    configuration without any key (tests/auditlogs/test_integrity_signing_key.py)."""
    for name in conf.KEY_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    values = conf.from_environment(debug=False, base_dir=tmp_path)
    assert values["AUDITLOG_SIGNING_KEY_GENERATE"] is False
    assert values["AUDITLOG_SIGNING_KEY_FILE"] == ""
    values = conf.from_environment(debug=True, base_dir=tmp_path)
    assert values["AUDITLOG_SIGNING_KEY_GENERATE"] is True
    assert values["AUDITLOG_SIGNING_KEY_FILE"] == str(tmp_path / ".auditlog-signing-key")
    monkeypatch.setenv("AUDITLOG_PUBLIC_KEY", "a web process's public key")
    values = conf.from_environment(debug=True, base_dir=tmp_path)
    assert values["AUDITLOG_SIGNING_KEY_GENERATE"] is False
