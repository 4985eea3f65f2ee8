"""Configuration loading: TOML files under ``config/`` plus environment overrides.

Order (later wins): ``config/default.toml``; ``config/testing.toml`` when ``TILSYN_ENV=testing``;
the file named by ``TILSYN_CONFIG``; ``TILSYN_<KEY>`` environment variables; ``DATABASE_URL``;
the ``overrides`` mapping given to :func:`tilsyn.create_app`. The secret key is read from
``TILSYN_SECRET_KEY`` or ``instance/secret_key`` and never from a committed file.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from datetime import UTC, date
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tilsyn.models_base import utcnow

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
ENV_PREFIX = "TILSYN_"


def local_today(config: Mapping[str, Any]) -> date:
    """Today's date in the installation's time zone (``BABEL_DEFAULT_TIMEZONE``, by default
    Europe/Copenhagen): the scheduler and the web pages agree on which period is current."""
    zone = ZoneInfo(str(config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Copenhagen")))
    return utcnow().replace(tzinfo=UTC).astimezone(zone).date()


class ConfigurationError(RuntimeError):
    """Raised when the configuration cannot be used."""


def _read_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load_toml(
    package: str, resource: str, path: str | os.PathLike[str] | None, what: str
) -> tuple[str, dict[str, Any]]:
    """Read a TOML file: ``path``, or the ``resource`` shipped in ``package`` when it is None.

    Returns ``(source, data)``; ``source`` names the file for messages. Raises ``ValueError``
    ("cannot parse <what> <source>: ...") when the file is not UTF-8 TOML.
    """
    if path is None:
        source = f"{package}/{resource}"
        raw = resources.files(package).joinpath(resource).read_bytes()
    else:
        source = str(path)
        raw = Path(path).read_bytes()
    try:
        return source, tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot parse {what} {source}: {exc}") from exc


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def normalise_database_url(url: str) -> str:
    """Map ``postgres://``/``postgresql://`` URLs to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(
    instance_path: str,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return the merged settings for an application instance."""
    env = os.environ if environ is None else environ
    settings: dict[str, Any] = _read_toml(CONFIG_DIR / "default.toml")
    if env.get("TILSYN_ENV") == "testing":
        settings.update(_read_toml(CONFIG_DIR / "testing.toml"))
    extra = env.get("TILSYN_CONFIG")
    if extra:
        path = Path(extra)
        if not path.is_file():
            raise ConfigurationError(f"TILSYN_CONFIG peger på en fil, der ikke findes: {extra}")
        settings.update(_read_toml(path))
    for key, raw in env.items():
        if key.startswith(ENV_PREFIX) and key not in ("TILSYN_ENV", "TILSYN_CONFIG"):
            settings[key[len(ENV_PREFIX) :]] = _parse_env_value(raw)
    if env.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
    if overrides:
        settings.update(overrides)

    for key in ("SQLALCHEMY_DATABASE_URI", "MAPPINGS_DIR"):
        value = str(settings[key]).replace("{instance}", instance_path).replace("{root}", str(ROOT))
        settings[key] = value
    settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        settings["SQLALCHEMY_DATABASE_URI"]
    )

    if not settings.get("SECRET_KEY"):
        key_file = Path(instance_path) / "secret_key"
        if key_file.is_file():
            settings["SECRET_KEY"] = key_file.read_text().strip()
        elif settings.get("REQUIRE_SECRET_KEY"):
            raise ConfigurationError(
                "Ingen SECRET_KEY: sæt TILSYN_SECRET_KEY eller læg en nøgle i instance/secret_key."
            )
        else:
            # Development only: sessions do not survive a restart.
            settings["SECRET_KEY"] = secrets.token_hex(32)
    return settings
