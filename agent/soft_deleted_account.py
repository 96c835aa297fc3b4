"""Preflight's check that the configured Azure OpenAI account name is not held by a soft-deleted account.

A deleted Azure OpenAI account is kept, soft-deleted, for 48 hours, and its name (the custom subdomain) cannot be
used meanwhile: creating it again fails with 409 FlagMustBeSetForRestore (Learn "Recover or purge deleted Azure AI
services resources"). Found at `up` time, that 409 comes after the resource group and workspace exist; found at
preflight, nothing has been created yet. Only names held in this subscription can be seen (deletedAccounts is
listed per subscription); a name generated with a random suffix (no `openaiAccountName` set) cannot collide.
"""

from __future__ import annotations

from agent.errors import UNAVAILABLE, LabctlError


def refuse_soft_deleted_account(client, account_name: str | None, source: str = "labctl:openaiAccountName") -> None:
    """Raise LabctlError naming the soft-deleted account that holds `account_name`, and the purge and recover
    commands; `client` is an azure-mgmt-cognitiveservices CognitiveServicesManagementClient."""
    if not account_name:
        return
    held = next((a for a in client.deleted_accounts.list() if (a.name or "").lower() == account_name.lower()), None)
    if held is None:
        return
    resource_group = _segment_after(held.id or "", "resourceGroups") or "<resource group>"
    location = held.location or _segment_after(held.id or "", "locations") or "<location>"
    purge_date = getattr(held.properties, "scheduled_purge_date", None) if held.properties else None
    until = f", until it is purged on {purge_date}" if purge_date else ""
    where = f"--name {held.name} --resource-group {resource_group} --location {location}"
    raise LabctlError(
        f"The Azure OpenAI account name {account_name!r} ({source}) is held by a soft-deleted account in resource "
        f"group {resource_group} ({location}){until}; purge it with `az cognitiveservices account purge {where}` "
        f"or recover it with `az cognitiveservices account recover {where}`, or choose another name, then run "
        f"labctl again.", UNAVAILABLE)


def _segment_after(resource_id: str, keyword: str) -> str | None:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    if keyword.lower() in lowered:
        index = lowered.index(keyword.lower()) + 1
        return parts[index] if index < len(parts) else None
    return None
