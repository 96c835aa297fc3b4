"""The Azure OpenAI account (kind OpenAI, or AIServices for Microsoft Foundry) and its model deployments."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_random as random
from pulumi_azure_native import cognitiveservices as cs

from infra.config import DeploymentSpec
from infra.foundry_project import foundry_account_args, foundry_properties, openai_endpoint


@dataclass(frozen=True)
class OpenAiAccountArgs:
    resource_group_name: pulumi.Input[str]
    location: str  # Azure region, e.g. "eastus2"
    account_stem: str  # the account name (and custom subdomain), or its stem when a suffix is added
    account_name_fixed: bool  # True: the stem is the whole name; False: "<stem>-<6 random characters>"
    public_network_access: bool
    disable_local_auth: bool  # True: Entra ID only, API keys refused
    deployments: list[DeploymentSpec]  # created in this order, one at a time
    tags: dict[str, str] = field(default_factory=dict)
    kind: str = "OpenAI"  # or "AIServices": a Microsoft Foundry resource (infra.foundry_project)


class OpenAiAccount(pulumi.ComponentResource):
    """Kind OpenAI, SKU S0, custom subdomain = account name, and deployments created one after another."""

    def __init__(self, name: str, args: OpenAiAccountArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("labctl:azure:OpenAiAccount", name, None, opts)
        account_name = self._account_name(name, args)
        self.account = cs.Account(
            f"{name}-account",
            account_name=account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=args.kind,
            sku=cs.SkuArgs(name="S0"),
            **foundry_account_args(args.kind),
            properties=cs.AccountPropertiesArgs(
                **foundry_properties(args.kind),
                # Entra ID auth and the <name>.openai.azure.com endpoint need a custom subdomain;
                # ARM does not set one unless asked.
                custom_sub_domain_name=account_name,
                public_network_access="Enabled" if args.public_network_access else "Disabled",
                disable_local_auth=args.disable_local_auth,
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.account_name = self.account.name
        self.deployments = self._deployments(name, args)

        self.endpoint: pulumi.Output[str] = openai_endpoint(self.account, args.kind)
        # With local auth disabled Azure refuses listKeys (400 "Failed to list key. disableLocalAuth is set to be
        # true"): there is no key, and the labs authenticate with Microsoft Entra ID instead.
        self.api_key: pulumi.Output[str] | None = None
        if not args.disable_local_auth:
            keys = cs.list_account_keys_output(
                account_name=self.account.name,
                resource_group_name=args.resource_group_name,
                opts=pulumi.InvokeOptions(parent=self),
            )
            self.api_key = pulumi.Output.secret(keys.key1)

        self.register_outputs(
            {"accountName": self.account_name, "endpoint": self.endpoint, "apiKey": self.api_key}
        )

    def _account_name(self, name: str, args: OpenAiAccountArgs) -> pulumi.Input[str]:
        """The stem as configured, or "<stem>-<6 lower-case letters and digits>" kept in state."""
        if args.account_name_fixed:
            return args.account_stem
        # The subdomain is global across Azure and blocked for 48 hours by a soft-deleted account,
        # so a suffix kept in state makes the name unique yet stable across `pulumi up` runs.
        suffix = random.RandomString(
            f"{name}-suffix", length=6, special=False, upper=False, numeric=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return suffix.result.apply(lambda s: f"{args.account_stem}-{s}")

    def _deployments(self, name: str, args: OpenAiAccountArgs) -> list[cs.Deployment]:
        """One deployment per spec, in the configured order, each depending on the one before it."""
        # Azure rejects concurrent deployment operations on one account with 409 RequestConflict.
        deployments: list[cs.Deployment] = []
        for spec in args.deployments:
            deployments.append(
                cs.Deployment(
                    f"{name}-deployment-{spec.name}",
                    account_name=self.account.name,
                    resource_group_name=args.resource_group_name,
                    deployment_name=spec.name,
                    sku=cs.SkuArgs(name=spec.sku, capacity=spec.capacity),
                    properties=cs.DeploymentPropertiesArgs(
                        model=cs.DeploymentModelArgs(format="OpenAI", name=spec.model, version=spec.version),
                        version_upgrade_option=spec.version_upgrade_option,
                        rai_policy_name=spec.rai_policy,
                    ),
                    tags=args.tags,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=deployments[-1:]),
                )
            )
        return deployments
