"""A Pulumi `Mocks` that answers like Azure and Databricks would, for unit tests of the infra program."""

from __future__ import annotations

import pulumi

SUBSCRIPTION = "00000000-0000-0000-0000-00000000abcd"
API_KEY = "fake-openai-key-5f9c0e"
CURRENT_USER = "lab.user@example.com"


class FakeAzure(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        kind = args.typ
        if kind == "azure-native:resources:ResourceGroup":
            name = inputs["resourceGroupName"]
            return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}", {**inputs, "name": name}
        if kind == "random:index/randomString:RandomString":
            return args.name, {**inputs, "result": "x7k2q9"[: int(inputs["length"])]}
        if kind == "azure-native:cognitiveservices:Account":
            name = inputs["accountName"]
            properties = {**inputs.get("properties", {}), "endpoint": f"https://{name}.openai.azure.com/"}
            if inputs.get("kind") == "AIServices":  # Foundry: the OpenAI endpoint is one of several
                properties.update(endpoint=f"https://{name}.cognitiveservices.azure.com/", endpoints={
                    "OpenAI Language Model Instance API": f"https://{name}.openai.azure.com/",
                    "AI Foundry API": f"https://{name}.services.ai.azure.com/"})
            return f"/subscriptions/{SUBSCRIPTION}/accounts/{name}", {**inputs, "name": name, "properties": properties}
        if kind == "azure-native:cognitiveservices:Deployment":
            return inputs["deploymentName"], {**inputs, "name": inputs["deploymentName"]}
        if kind == "azure-native:cognitiveservices:Project":
            account, name = inputs["accountName"], inputs["projectName"]
            endpoint = f"https://{account}.services.ai.azure.com/api/projects/{name}"
            return f"/subscriptions/{SUBSCRIPTION}/accounts/{account}/projects/{name}", {
                **inputs, "name": f"{account}/{name}",
                "properties": {**inputs.get("properties", {}), "endpoints": {"AI Foundry API": endpoint}}}
        if kind == "azure-native:databricks:Workspace":
            name = inputs["workspaceName"]
            state = {**inputs, "name": name, "workspaceUrl": "adb-1234567890123456.7.azuredatabricks.net",
                     "workspaceId": "1234567890123456"}
            return f"/subscriptions/{SUBSCRIPTION}/workspaces/{name}", state
        if kind == "databricks:index/cluster:Cluster":
            return "1121-075200-abcdef12", inputs
        return f"{args.name}-id", inputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "azure-native:authorization:getClientConfig":
            return {"subscriptionId": SUBSCRIPTION, "tenantId": "tenant", "clientId": "client", "objectId": "object"}, []
        if args.token == "azure-native:cognitiveservices:listAccountKeys":
            return {"key1": API_KEY, "key2": API_KEY + "-2"}, []
        if args.token == "databricks:index/getCurrentUser:getCurrentUser":
            return {"userName": CURRENT_USER, "id": "42"}, []
        if args.token == "azure-native:resources:getResourceGroup":
            return {"name": args.args["resourceGroupName"], "location": "eastus2"}, []
        raise NotImplementedError(args.token)
