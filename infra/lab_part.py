"""The base of the components DatabricksLab is composed of (workspace, compute, secrets, storage)."""

from __future__ import annotations

import pulumi


class LabPart(pulumi.ComponentResource):
    """A component whose resources once sat directly under its parent.

    Until the split into parts, every Databricks resource of the lab was a child of `DatabricksLab`
    itself. A new level in the parent chain changes each resource's URN, and Pulumi replaces a
    resource whose URN it does not know: on a stack deployed before the split, `pulumi up` would
    delete and recreate the workspace (losing its notebooks, runs and MLflow data). The alias names
    the old parent, so the engine moves those resources under the part instead.
    """

    def __init__(self, type_: str, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(type_, name, None, opts)
        self._old_parent = opts.parent if opts is not None else None

    def child_opts(self) -> pulumi.ResourceOptions:
        """Options for a resource of this part: parented here, aliased to where it used to be."""
        # Only when composed under a parent: Alias(parent=None) would claim a former life at the stack root.
        aliases = [pulumi.Alias(parent=self._old_parent)] if self._old_parent is not None else None
        return pulumi.ResourceOptions(parent=self, aliases=aliases)
