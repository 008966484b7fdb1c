"""One frozen Settings object, read from the environment and .streamlit/secrets.toml."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_DB = Path("data") / "portal.duckdb"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every tunable of the portal; each field is documented in README.md (a test checks)."""

    db_path: str = str(DEFAULT_DB)
    db_pool_size: int = 5  # PostgreSQL: connections per server process
    db_threads: int = 1  # DuckDB: threads one query may use (1: on the caller's own thread)
    secret_key: str | None = None
    secret_key_file: str = ""  # a file holding the key (e.g. a mounted secret); never created
    issuer: str = "2FA Portal"
    bcrypt_rounds: int = 12
    totp_window: int = 1
    skew_hint_steps: int = 10
    step_up_minutes: int = 10
    throttle_after: int = 5
    throttle_base_seconds: float = 1.0
    lockout_after: int = 10
    lockout_minutes: int = 15
    lockout_account_after: int = 50  # failures from any address that lock the whole account
    unknown_user_checks_per_minute: int = 60  # real bcrypt checks for names that are no account
    backup_code_count: int = 10
    backup_codes_low: int = 3
    reset_grant_hours: int = 24
    help_contact: str = "your security manager"  # who people are told to ask for help
    clock_offset_seconds: int = 0
    clock_file: str = ""
    demo: bool = False
    require_2fa: str = "none"  # none | all | managers
    require_2fa_grace_days: int = 7
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_sender: str = "2fa-portal@localhost"
    public_url: str = ""  # the origin browsers use, e.g. https://2fa.example.org
    trusted_proxies: str = ""  # comma-separated IPs/CIDRs whose X-Forwarded-For counts
    session_cookie_domain: str = ""  # e.g. example.org: the cookie covers its sub-hosts
    authz_hosts: str = ""  # comma-separated hosts forward auth guards and may send people back to
    authz_rules_file: str = ""  # TOML [[rule]] list: who may pass per host and path prefix
    backup_dir: str = ""  # DuckDB: the server writes scheduled backups into this folder
    backup_every_hours: int = 0  # 0: no scheduled backups
    backup_keep: int = 7  # scheduled backups kept; the oldest beyond this are removed
    audit_keep_days: int = 0  # 0: keep the audit trail forever

    @property
    def key_file(self) -> Path:
        """Where the key is read from without secret_key: secret_key_file, else <db>.key."""
        return Path(self.secret_key_file or self.db_path + ".key")


ENV_PREFIX = "PORTAL_"
ENV_NAMES = {"db_path": "PORTAL_DB"}  # the documented short name


def env_name(field: str) -> str:
    return ENV_NAMES.get(field, ENV_PREFIX + field.upper())


def _coerce(field: dataclasses.Field[Any], raw: Any) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if kind == "bool":
        return str(raw).strip().lower() in {"1", "true", "yes", "on"}
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    return str(raw)


def load_settings(
    env: Mapping[str, str] | None = None,
    secrets_file: Path | None = None,
    **overrides: Any,
) -> Settings:
    """Defaults, then secrets.toml [portal] table, then PORTAL_* variables, then overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    secrets_file = secrets_file or Path(".streamlit") / "secrets.toml"
    if secrets_file.is_file():
        with secrets_file.open("rb") as fh:
            values.update(tomllib.load(fh).get("portal", {}))
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    for name in fields:
        variable = env_name(name)
        if variable in env:
            values[name] = env[variable]
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    return Settings(**{k: _coerce(fields[k], v) for k, v in values.items()})
