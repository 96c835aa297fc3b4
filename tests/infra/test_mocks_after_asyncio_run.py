"""The program runs under Pulumi's mocks in the same process as code that used `asyncio.run` (the labs' probe, run
in-process by tests and by `labctl` itself): asyncio then has no current loop in this thread, and Pulumi's runtime,
which asks for one, raised "There is no current event loop in thread 'MainThread'"."""

import asyncio

from tests.infra.conftest import deploy


def test_the_program_deploys_after_an_asyncio_run_in_the_same_thread():
    async def nothing():
        return None

    asyncio.run(nothing())
    run = deploy(stack="after-asyncio")
    assert run.one("azure-native:resources:ResourceGroup").inputs["resourceGroupName"] == "rg-labctl-after-asyncio"
