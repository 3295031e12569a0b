"""Function settings from the environment: a bad deployment fails at cold start, naming the
variable, before any request."""

from __future__ import annotations

import pytest

from approval_core.api.settings import Settings, SettingsError, TokenTriggerSettings, from_environment

TABLES = {"APPROVALS_TABLE_NAME": "Approvals", "DIRECTORY_TABLE_NAME": "Directory"}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("APPROVALS_TABLE_NAME", "DIRECTORY_TABLE_NAME", "APPROVAL_EXPIRY_SECONDS", "MAX_BODY_BYTES"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_settings_are_read_from_the_variables_named_after_them(environment: pytest.MonkeyPatch) -> None:
    for name, value in {**TABLES, "APPROVAL_EXPIRY_SECONDS": "3600"}.items():
        environment.setenv(name, value)
    settings = from_environment(Settings)
    assert (settings.approvals_table_name, settings.approval_expiry_seconds) == ("Approvals", 3600)
    assert settings.subject_claim == "sub"  # unset: the default


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DIRECTORY_TABLE_NAME": "Directory"}, "APPROVALS_TABLE_NAME is not set"),
        ({**TABLES, "DIRECTORY_TABLE_NAME": "ab"}, "DIRECTORY_TABLE_NAME: must be at least 3 characters"),
        ({**TABLES, "APPROVAL_EXPIRY_SECONDS": "an hour"}, "APPROVAL_EXPIRY_SECONDS: must be a whole number"),
        ({**TABLES, "APPROVAL_EXPIRY_SECONDS": "0"}, "APPROVAL_EXPIRY_SECONDS: must be a whole number of at least 1"),
    ],
)
def test_a_bad_deployment_fails_naming_the_variable(
    environment: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for name, value in variables.items():
        environment.setenv(name, value)
    with pytest.raises(SettingsError, match=named):
        from_environment(Settings)


def test_the_token_trigger_refuses_an_empty_claim_name() -> None:
    with pytest.raises(SettingsError, match="TENANT_CLAIM"):
        TokenTriggerSettings(tenant_claim="")
