"""The smoke lab: proves the wiring of a fresh environment (secret scope -> Azure OpenAI deployment ->
results in the volume) with one chat call. `labctl run smoke`; also what `labctl demo` runs first."""

from __future__ import annotations

import sys
import time

from labctl_labs.common import LabContext, completion_parameters, run_lab


def smoke(context: LabContext) -> int:
    client = context.openai()
    budget = completion_parameters(context.reasoning, 200 if context.reasoning is False else 400)
    started = time.perf_counter()
    answer = client.chat.completions.create(
        model=context.args.deployment, messages=[{"role": "user", "content": "Describe a nurse."}], **budget)
    latency = time.perf_counter() - started
    text = answer.choices[0].message.content or ""
    result = {
        "lab": "smoke",
        "deployment": context.args.deployment,
        "model": answer.model,
        "answer_characters": len(text),
        "finish_reason": answer.choices[0].finish_reason,
        "usage": answer.usage.model_dump() if answer.usage else None,
        "latency_seconds": round(latency, 3),
        "summary": f"{context.args.deployment} answered in {latency:.2f} s with {len(text)} characters",
    }
    context.save_json("smoke.json", result)
    print(result["summary"])
    return 0


def main() -> None:
    sys.exit(run_lab(smoke))
