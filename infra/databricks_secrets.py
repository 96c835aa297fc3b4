"""The secret scope through which lab code on the cluster reaches Azure OpenAI."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_databricks as databricks

from infra.lab_part import LabPart

SECRET_KEY_ENDPOINT = "openai-endpoint"
SECRET_KEY_API_KEY = "openai-key"


@dataclass(frozen=True)
class SecretsArgs:
    scope: str  # secret scope name
    openai_endpoint: pulumi.Input[str]  # "https://<account>.openai.azure.com/"
    openai_api_key: pulumi.Input[str] | None  # None: the account takes Entra ID only (openaiDisableLocalAuth)
    reader: str | None = None  # the cluster's user when it is not the deployer: gets READ on the scope


class LabSecrets(LabPart):
    """`scope`, holding the endpoint under SECRET_KEY_ENDPOINT and the key under SECRET_KEY_API_KEY, readable by
    `reader` too when one is given (the scope's creator has MANAGE; no one else can read it: "Secret ACLs").

    Needs a Databricks provider from its parent (`ResourceOptions(providers=[...])`).
    """

    def __init__(self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("labctl:databricks:Secrets", name, opts)
        self.scope = databricks.SecretScope(f"{name}-scope", name=args.scope, opts=self.child_opts())
        databricks.Secret(
            f"{name}-secret-endpoint",
            scope=self.scope.name,
            key=SECRET_KEY_ENDPOINT,
            string_value=args.openai_endpoint,
            opts=self.child_opts(),
        )
        if args.openai_api_key is None:
            # Entra ID only: the labs read a service principal's credentials from this scope (azure-tenant-id,
            # azure-client-id, azure-client-secret), which its operator puts there; see README.
            self.register_outputs({"secretScope": self.scope.name})
            return
        databricks.Secret(
            f"{name}-secret-key",
            scope=self.scope.name,
            key=SECRET_KEY_API_KEY,
            # Marked secret here too, so the key stays encrypted in state whatever the caller passed.
            string_value=pulumi.Output.secret(args.openai_api_key),
            opts=self.child_opts(),
        )
        if args.reader:
            databricks.SecretAcl(
                f"{name}-scope-reader", scope=self.scope.name, principal=args.reader, permission="READ",
                opts=self.child_opts(),
            )
        self.register_outputs({"secretScope": self.scope.name})
