"""`labctl:aiResourceKind AIServices`: the lab's model account as a Microsoft Foundry resource, with a project.

What differs from a classic Azure OpenAI account (kind OpenAI), per the ARM contract of Microsoft.CognitiveServices
at api-version 2025-06-01, the version pulumi-azure-native 3.x uses for `cognitiveservices.Account` and
`cognitiveservices.Project` (accounts/projects first appeared in 2025-04-01-preview):
- kind `AIServices`, SKU S0, `properties.allowProjectManagement: true` (projects are refused without it) and a
  custom subdomain (the account name, as for kind OpenAI: "Custom subdomain names are required to enable features
  like Microsoft Entra ID", learn page "Custom subdomain names for Foundry Tools");
- a system-assigned identity on the account and on the project, as Microsoft's Foundry quickstart templates set;
- a project, `accounts/projects`, in the account's region;
- endpoints: the account answers the Azure OpenAI API at `properties.endpoints["OpenAI Language Model Instance
  API"]` (`https://<subdomain>.openai.azure.com/`), the endpoint the labs and labctl use for both kinds, while
  `properties.endpoint` of an AIServices account is its `cognitiveservices.azure.com` one; the project's own
  endpoint is `properties.endpoints["AI Foundry API"]` (`https://<subdomain>.services.ai.azure.com/api/projects/
  <project>`).
Deployments, fine-tuning jobs, files and purge are the same calls on both kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import cognitiveservices as cs

OPENAI_ENDPOINT_NAME = "OpenAI Language Model Instance API"
FOUNDRY_ENDPOINT_NAME = "AI Foundry API"


def foundry_account_args(kind: str) -> dict:
    """Account arguments beside `properties` that a Foundry resource adds (none for kind OpenAI)."""
    return {"identity": cs.IdentityArgs(type="SystemAssigned")} if kind == "AIServices" else {}


def foundry_properties(kind: str) -> dict:
    """`AccountPropertiesArgs` fields a Foundry resource adds (none for kind OpenAI)."""
    return {"allow_project_management": True} if kind == "AIServices" else {}


def openai_endpoint(account: cs.Account, kind: str) -> pulumi.Output[str]:
    """The account's Azure OpenAI endpoint: `properties.endpoint` for kind OpenAI, the named endpoint for AIServices."""
    if kind != "AIServices":
        return account.properties.endpoint
    return account.properties.endpoints.apply(lambda endpoints: (endpoints or {})[OPENAI_ENDPOINT_NAME])


@dataclass(frozen=True)
class FoundryProjectArgs:
    resource_group_name: pulumi.Input[str]
    account_name: pulumi.Input[str]
    location: str  # the account's region
    project_name: str  # 2-64 letters, digits, '-' or '_'
    tags: dict[str, str] = field(default_factory=dict)


class FoundryProject(pulumi.ComponentResource):
    """The lab's project in the Foundry resource; its endpoint is exported as `foundryProjectEndpoint`."""

    def __init__(self, name: str, args: FoundryProjectArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("labctl:azure:FoundryProject", name, None, opts)
        self.project = cs.Project(
            f"{name}-project",
            resource_group_name=args.resource_group_name,
            account_name=args.account_name,
            project_name=args.project_name,
            location=args.location,
            identity=cs.IdentityArgs(type="SystemAssigned"),
            properties=cs.ProjectPropertiesArgs(display_name=args.project_name,
                                                description="labctl: the Databricks + Azure OpenAI labs"),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.endpoint: pulumi.Output[str] = self.project.properties.endpoints.apply(
            lambda endpoints: (endpoints or {}).get(FOUNDRY_ENDPOINT_NAME))
        self.register_outputs({"endpoint": self.endpoint})
