"""Who may do what in a sandbox workspace: Unity Catalog privileges, secret-scope ACLs and workspace admins.

The rules, as Databricks documents them:
- Unity Catalog ("Manage privileges in Unity Catalog", "Unity Catalog privileges and securable objects"):
  initially users have no access to data; an object's owner has every privilege on it; a privilege granted
  on a catalog or schema is inherited by everything inside it. Reading a volume's files takes USE CATALOG,
  USE SCHEMA and READ VOLUME, writing them WRITE VOLUME as well; a table needs USE CATALOG, USE SCHEMA and
  CREATE TABLE on its schema. A workspace catalog is owned by the workspace admins and every workspace user
  gets USE CATALOG on it ("Workspace catalog privileges"). Refusals are 403 PERMISSION_DENIED.
- Secrets ("Secret ACLs"): permission levels READ < WRITE < MANAGE; the creator of a scope gets MANAGE when
  no initial_manage_principal is given, and workspace admins have MANAGE on every scope.
- Only the owner of a securable (or a workspace admin, for the workspace catalog's objects) changes its grants.
"""

from __future__ import annotations

from sandbox.databricks.state import Workspace
from sandbox.errors import DatabricksError

USERS = "users"  # the workspace's group of all users
ADMINS = "admins"  # the workspace admins group
SECRET_LEVELS = {"READ": 1, "WRITE": 2, "MANAGE": 3}


def key(securable_type: str, full_name: str) -> str:
    return f"{securable_type.lower()}/{full_name}"


def denied(message: str) -> DatabricksError:
    return DatabricksError(403, "PERMISSION_DENIED", message)


def is_admin(ws: Workspace, user: str) -> bool:
    return user in ws.admins


def _principals(ws: Workspace, user: str) -> set[str]:
    return {user, USERS, "account users"} | ({ADMINS} if is_admin(ws, user) else set())


def _chain(full_name: str) -> list[tuple[str, str]]:
    """The securable and its parents: ('volume', c.s.v) -> [('volume', c.s.v), ('schema', c.s), ('catalog', c)]."""
    parts = full_name.split(".")
    kinds = ("catalog", "schema", "volume")
    return [(kinds[depth - 1], ".".join(parts[:depth])) for depth in range(len(parts), 0, -1)]


def owner(ws: Workspace, securable_type: str, full_name: str) -> str | None:
    return ws.owners.get(key(securable_type, full_name))


def has_privilege(ws: Workspace, user: str, privilege: str, full_name: str) -> bool:
    """Whether `user` holds `privilege` on the securable `full_name` (catalog, schema or volume), directly, through
    a group, by inheritance from a parent, or as its owner."""
    principals = _principals(ws, user)
    securable = _chain(full_name)[0]
    if owner(ws, *securable) in principals:
        return True
    for kind, name in _chain(full_name):
        granted = ws.grants.get(key(kind, name), {})
        if any(privilege in granted.get(p, set()) or "ALL_PRIVILEGES" in granted.get(p, set()) for p in principals):
            return True
    return False


def missing_privilege(ws: Workspace, user: str, needs: list[tuple[str, str]]) -> str | None:
    """The first of `needs` ([(privilege, full_name)]) that `user` lacks, as Databricks words it, or None."""
    for privilege, full_name in needs:
        if not has_privilege(ws, user, privilege, full_name):
            kind = _chain(full_name)[0][0].capitalize()
            return f"User does not have {privilege.replace('_', ' ')} on {kind} '{full_name}'."
    return None


def volume_needs(full_volume: str, write: bool) -> list[tuple[str, str]]:
    catalog, schema, _ = full_volume.split(".")
    needs = [("USE_CATALOG", catalog), ("USE_SCHEMA", f"{catalog}.{schema}"), ("READ_VOLUME", full_volume)]
    return needs + [("WRITE_VOLUME", full_volume)] if write else needs


def table_needs(full_schema: str) -> list[tuple[str, str]]:
    catalog = full_schema.split(".")[0]
    return [("USE_CATALOG", catalog), ("USE_SCHEMA", full_schema), ("CREATE_TABLE", full_schema)]


def require(ws: Workspace, user: str, needs: list[tuple[str, str]]) -> None:
    missing = missing_privilege(ws, user, needs)
    if missing is not None:
        raise denied(missing)


def may_manage_grants(ws: Workspace, user: str, securable_type: str, full_name: str) -> bool:
    """Owners of the securable or of a parent manage its grants (workspace admins own the workspace catalog)."""
    principals = _principals(ws, user)
    return any(owner(ws, kind, name) in principals for kind, name in _chain(full_name)) or is_admin(ws, user)


def secret_level(ws: Workspace, user: str, scope: str) -> int:
    if is_admin(ws, user):
        return SECRET_LEVELS["MANAGE"]
    acl = ws.secret_acls.get(scope, {})
    return max((SECRET_LEVELS[acl[p]] for p in _principals(ws, user) if p in acl), default=0)


def require_secret(ws: Workspace, user: str, scope: str, level: str) -> None:
    if secret_level(ws, user, scope) < SECRET_LEVELS[level]:
        raise denied(f"User {user} does not have {level} permission on scope {scope}.")
