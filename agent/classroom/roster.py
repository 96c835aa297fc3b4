"""Who the learners are: `--learners N` (numbered; with `--user-pattern`, each its own numbered identity, as
hosted-lab tenants pre-create `labuser01@...`) or `--roster FILE` (one e-mail per line, each learner's Databricks
user name)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from agent.errors import UsageError

# A Databricks user name is the user's e-mail address (Databricks "Manage users": "user name (email address)");
# this is only its shape (local@domain.tld), the workspace decides whether the user exists.
EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
CLASS_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
MAX_LEARNERS = 99  # stacks are named <class>-01 ... <class>-99


@dataclass(frozen=True)
class Learner:
    number: int
    stack: str  # the learner's own stack, <class>-<nn>
    email: str | None = None  # their identity (a roster line), None for `--learners N`

    @property
    def name(self) -> str:
        return self.email or self.stack


def check_class_name(name: str) -> str:
    """A class name becomes the prefix of every learner's stack and resource names: short, lower case."""
    if not CLASS_NAME.match(name):
        raise UsageError(f"--class {name!r} is not a class name (a lower-case letter, then up to 19 lower-case "
                         "letters, digits or '-').")
    return name


def numbered(class_name: str, count: int, user_pattern: str | None = None) -> list[Learner]:
    """`count` learners; `user_pattern` (a Python format string with `{n}`, e.g. `labuser{n:02d}@contoso.com`)
    gives learner n the identity `user_pattern.format(n=n)`. UsageError naming the option when either is wrong."""
    if not 1 <= count <= MAX_LEARNERS:
        raise UsageError(f"--learners {count} is not a number of learners (1 to {MAX_LEARNERS}).")
    if user_pattern is None:
        return [Learner(n, f"{class_name}-{n:02d}") for n in range(1, count + 1)]
    try:
        emails = [user_pattern.format(n=n) for n in range(1, count + 1)]
    except (KeyError, IndexError, ValueError) as error:
        raise UsageError(f"--user-pattern {user_pattern!r} is not a pattern with {{n}} for the learner's number "
                         f"({error}).") from None
    if len({e.lower() for e in emails}) != count or not all(EMAIL.match(e) for e in emails):
        raise UsageError(f"--user-pattern {user_pattern!r} does not make {count} different e-mail addresses "
                         f"(learner 1 would be {emails[0]!r}); put {{n}} in it, e.g. labuser{{n:02d}}@contoso.com.")
    return [Learner(n, f"{class_name}-{n:02d}", email) for n, email in enumerate(emails, start=1)]


def read_roster(class_name: str, path: Path) -> list[Learner]:
    """One e-mail per line; blank lines and lines starting with '#' are skipped. Errors name the file and line:
    not an e-mail, an e-mail listed twice (case-insensitive, as Databricks user names are), more than 99."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"--roster {path} does not exist.") from None
    except IsADirectoryError:
        raise UsageError(f"--roster {path} is a folder, not a file with one e-mail per line.") from None
    except UnicodeDecodeError:
        raise UsageError(f"--roster {path} is not UTF-8 text (one e-mail per line).") from None
    except OSError as error:
        raise UsageError(f"--roster {path} cannot be read ({error.strerror or error}).") from None
    learners: list[Learner] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        email = line.strip()
        if not email or email.startswith("#"):
            continue
        if not EMAIL.match(email):
            raise UsageError(f"{path}, line {number}: {email[:80]!r} is not an e-mail address (one per line).")
        if email.lower() in seen:
            raise UsageError(f"{path}, line {number}: {email} is already on line {seen[email.lower()]}.")
        if len(learners) == MAX_LEARNERS:
            raise UsageError(f"{path}, line {number}: more than {MAX_LEARNERS} learners in one class.")
        seen[email.lower()] = number
        learners.append(Learner(len(learners) + 1, f"{class_name}-{len(learners) + 1:02d}", email))
    if not learners:
        raise UsageError(f"--roster {path} lists no learner (one e-mail per line).")
    return learners
