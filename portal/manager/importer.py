"""Bulk import of accounts from a CSV file: parse, check every row, then create all or none.

Shared by `portal user import` and the manager page's Import tab. Each imported person gets a
random first password, shown once (like the one a manager hands over for a single new account);
2FA starts off. bcrypt does not run per row: a ~99-bit random password needs no slow hash (its
SHA-256 is kept, see first_password_hash), which lets tens of thousands of rows import in seconds.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import secrets
from collections.abc import Callable, Sequence

from portal import events, validate
from portal.access.passwords import first_password_hash
from portal.context import Portal
from portal.errors import ConstraintViolation, InvalidInput, PortalError
from portal.manager.guard import require_manager
from portal.models import Identity, Role
from portal.twofactor.backup_codes import ALPHABET
from store import Cursor, users_bulk
from store import audit as audit_store

COLUMNS = ("username", "display_name", "email", "role")
MAX_BYTES = 10 * 1024 * 1024  # ~100,000 rows; the page's uploader has the same limit
MAX_ROWS = 100_000
_GROUPS, _GROUP = 4, 5  # xxxxx-xxxxx-xxxxx-xxxxx: 20 characters of 31, ~99 bits
_CHUNK = 500  # rows prepared between two progress reports

Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclasses.dataclass(frozen=True)
class Row:
    """A valid row: the account it will create."""

    line: int
    username: str
    display_name: str
    email: str | None
    role: Role


@dataclasses.dataclass(frozen=True)
class Problem:
    """A row that cannot be imported: its line in the file and why (shown as plain text)."""

    line: int
    username: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Plan:
    """What an import would do: the accounts to create and every bad row."""

    rows: tuple[Row, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.problems


@dataclasses.dataclass(frozen=True)
class Created:
    """An imported account and its first password (shown once, never stored in clear)."""

    username: str
    first_password: str = dataclasses.field(repr=False)


def decode(data: bytes) -> str:
    """The file as text: UTF-8 (a leading BOM is fine); anything else is refused in one line."""
    if not data.strip():
        raise InvalidInput("The file is empty: it needs a header line and one line per person.")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"The file is over {MAX_BYTES // (1024 * 1024)} MB: split it.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"The file is not UTF-8 text (line {line}): save it as 'CSV UTF-8' and try again."
        ) from exc


def _header(fields: list[str]) -> list[str]:
    names = [f.strip().lower() for f in fields]
    unknown = [n for n in names if n not in COLUMNS]
    if "username" not in names or unknown or len(set(names)) != len(names):
        shown = f" (not a column: {', '.join(unknown)})" if unknown else ""
        raise InvalidInput(
            "The first line must name the columns: username, display_name, email and, "
            f"optionally, role{shown}."
        )
    return names


def _row(line: int, cells: dict[str, str], default_role: Role) -> Row:
    """One row checked like a single new account; InvalidInput says what is wrong."""
    name = validate.username(cells.get("username", ""))
    shown = validate.display_name(cells.get("display_name", ""), name)
    if not cells.get("email", "").isprintable():
        raise InvalidInput("The email address contains control characters.")
    address = validate.email(cells.get("email", ""))
    role_text = cells.get("role", "").strip().lower()
    if role_text and role_text not in {r.value for r in Role}:
        raise InvalidInput(f"Unknown role {role_text!r}: use user or security_manager.")
    return Row(line, name, shown, address, Role(role_text) if role_text else default_role)


def _shown(cell: str) -> str:
    """A refused username as it may be printed: no control characters (a terminal's escapes)."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in cell.strip())[:64]


def _check(
    line: int, cells: list[str], header: list[str], default_role: Role, seen: dict[str, int]
) -> Row | Problem:
    """One line of the file: the account it creates, or why it cannot (`seen`: name -> line)."""
    at = header.index("username")
    given = _shown(cells[at]) if at < len(cells) else ""
    if len(cells) != len(header):
        return Problem(line, given, f"{len(cells)} columns, the header has {len(header)}")
    try:
        row = _row(line, dict(zip(header, cells, strict=True)), default_role)
    except PortalError as exc:
        return Problem(line, given, str(exc))
    if row.username in seen:
        return Problem(line, row.username, f"also on line {seen[row.username]}")
    seen[row.username] = line
    return row


def parse(text: str, default_role: Role = Role.USER) -> Plan:
    """Every row of the file checked on its own and against the others (not the database)."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = _header(next(reader))
    except StopIteration:
        raise InvalidInput("The file is empty: it needs a header line.") from None
    except csv.Error as exc:
        raise InvalidInput(f"Line 1 is not valid CSV: {exc}.") from exc
    rows: list[Row] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(reader.line_num, "", f"not valid CSV: {exc}"))
            break
        if not any(c.strip() for c in cells):
            continue  # a blank line
        if len(rows) + len(problems) >= MAX_ROWS:
            raise InvalidInput(f"The file has more than {MAX_ROWS:,} people: split it.")
        checked = _check(reader.line_num, cells, header, default_role, seen)
        if isinstance(checked, Row):
            rows.append(checked)
        else:
            problems.append(checked)
    if not rows and not problems:
        raise InvalidInput("The file has a header but no people.")
    return Plan(tuple(rows), tuple(problems))


def _with_existing(plan: Plan, existing: set[str]) -> Plan:
    taken = [Problem(r.line, r.username, "already has an account") for r in plan.rows]
    problems = [t for t in taken if t.username in existing]
    if not problems:
        return plan
    rows = tuple(r for r in plan.rows if r.username not in existing)
    return Plan(rows, tuple(sorted((*plan.problems, *problems), key=lambda p: p.line)))


def plan_import(
    p: Portal, actor: Identity | None, data: bytes, default_role: Role = Role.USER
) -> Plan:
    """Parse and check the file, including names that already exist; writes nothing.

    actor None is the command line; anyone else must be a manager (the plan says which
    names have accounts).
    """
    plan = parse(decode(data), default_role)
    with p.db.read() as cur:
        if actor is not None:
            require_manager(p, cur, actor)
        existing = users_bulk.list_existing_usernames(cur, (r.username for r in plan.rows))
    return _with_existing(plan, existing)


def first_password() -> str:
    """A random first password, grouped for reading aloud or copying from paper."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(_GROUPS * _GROUP))
    return "-".join(chars[i : i + _GROUP] for i in range(0, len(chars), _GROUP))


def _hashed(count: int, rounds: int, progress: Progress | None) -> list[tuple[str, str]]:
    """(first password, its stored form) for each row, reporting progress now and then."""
    out: list[tuple[str, str]] = []
    for i in range(count):
        clear = first_password()
        out.append((clear, first_password_hash(clear, rounds)))
        if progress and (i + 1 == count or (i + 1) % _CHUNK == 0):
            progress(i + 1, count)
    return out


def run_import(
    p: Portal,
    actor: Identity | None,
    actor_name: str,
    plan: Plan,
    source: str,
    progress: Progress | None = None,
) -> list[Created]:
    """Create every account of a checked plan in one transaction, or none; one audit row.

    actor None is the command line (actor_name os:<user>); a manager is checked again inside
    the transaction. A name created since the plan was checked fails the whole import.
    """
    if not plan.ok:
        raise InvalidInput("Fix the rows with problems first: nothing was imported.")
    made = _hashed(len(plan.rows), p.settings.bcrypt_rounds, progress)
    people = [
        users_bulk.NewUser(r.username, r.display_name, r.role, hashed, r.email)
        for r, (_, hashed) in zip(plan.rows, made, strict=True)
    ]

    def create(cur: Cursor) -> None:
        if actor is not None:
            require_manager(p, cur, actor)
        taken = users_bulk.list_existing_usernames(cur, (u.username for u in people))
        if taken:
            raise _conflict(sorted(taken))
        now = p.now()
        count = users_bulk.insert_users_bulk(cur, people, now)
        detail = f"{count} account(s): " + _roles(plan.rows)
        audit_store.insert_event(cur, now, events.USERS_IMPORTED, actor_name, None, source, detail)

    try:
        p.db.transact(create)
    except ConstraintViolation as exc:  # created by someone else while this one ran
        raise _conflict([]) from exc
    return [Created(r.username, pw) for r, (pw, _) in zip(plan.rows, made, strict=True)]


def _roles(rows: Sequence[Row]) -> str:
    managers = sum(1 for r in rows if r.role is Role.SECURITY_MANAGER)
    return f"{len(rows) - managers} user(s), {managers} security manager(s)"


def _conflict(names: list[str]) -> InvalidInput:
    shown = f" ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})" if names else ""
    return InvalidInput(
        f"Some usernames got an account while the import ran{shown}: nothing was imported. "
        "Check the file again."
    )


def passwords_csv(created: Sequence[Created]) -> str:
    """username,first_password lines for handing the first passwords over."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["username", "first_password"])
    writer.writerows((c.username, c.first_password) for c in created)
    return out.getvalue()
