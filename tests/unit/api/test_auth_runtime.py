"""AUTH_MODE=local is for a laptop: the API refuses it at start-up in Lambda or an ECS task."""

from __future__ import annotations

import pytest
from inventory_api.settings import ApiAuthSettings
from pydantic import ValidationError

OIDC = {
    "AUTH_MODE": "oidc",
    "OIDC_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
    "OIDC_AUDIENCE": "client",
    "OIDC_JWKS_URL": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x/.well-known/jwks.json",
}


@pytest.mark.parametrize(
    ("variable", "runtime"),
    [("AWS_LAMBDA_FUNCTION_NAME", "Lambda"), ("ECS_CONTAINER_METADATA_URI_V4", "ECS")],
)
def test_local_auth_is_refused_in_aws(monkeypatch: pytest.MonkeyPatch, variable: str, runtime: str) -> None:
    monkeypatch.delenv("AUTH_MODE", raising=False)
    monkeypatch.setenv(variable, "inventory-api")
    with pytest.raises(ValidationError, match=f"AUTH_MODE=local is refused when running in {runtime}"):
        ApiAuthSettings()


def test_oidc_is_accepted_in_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "inventory-api")
    for key, value in OIDC.items():
        monkeypatch.setenv(key, value)
    assert ApiAuthSettings().auth_mode == "oidc"


def test_local_auth_is_accepted_outside_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("AWS_LAMBDA_FUNCTION_NAME", "ECS_CONTAINER_METADATA_URI_V4", "AUTH_MODE"):
        monkeypatch.delenv(variable, raising=False)
    assert ApiAuthSettings().auth_mode == "local"
