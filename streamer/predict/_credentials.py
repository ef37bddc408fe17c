"""Find the LandingLens API key: argument, environment, then `.env`."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from streamer.exceptions import InvalidApiKeyError

__all__ = ["load_api_credential", "mask_secret"]

KEY_PREFIX = "land_sk_"
_DOCS = "See https://support.landing.ai/docs/api-key for how to create one."


class _ApiKeySettings(BaseSettings):
    """Reads `LANDINGAI_API_KEY` (any case) from the environment or `./.env`."""

    model_config = SettingsConfigDict(
        env_prefix="landingai_",
        case_sensitive=False,
        env_file=".env",
        extra="ignore",
    )

    api_key: str | None = None


def mask_secret(secret: str) -> str:
    """Show only the first 4 characters of a secret and its length."""
    return f"{secret[:4]}… ({len(secret)} characters)"


def load_api_credential(api_key: str | None = None) -> str:
    """Return the API key, looked up in the argument, env var, then `./.env`.

    Raises:
        InvalidApiKeyError: No key was found, or it does not start with
            `land_sk_`. The message shows only a masked form of the key.
    """
    key = api_key or _ApiKeySettings().api_key
    if not key:
        raise InvalidApiKeyError(
            "API key is either not provided or invalid; pass api_key or set "
            f"LANDINGAI_API_KEY. {_DOCS}"
        )
    key = key.strip()
    if not key.startswith(KEY_PREFIX):
        raise InvalidApiKeyError(
            f"API key (v2) must start with {KEY_PREFIX!r}, but it is "
            f"{mask_secret(key)}. {_DOCS}"
        )
    return key
