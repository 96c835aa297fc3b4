"""The labs labctl can run, and the wheel entry point of each (see [project.scripts] in pyproject.toml)."""

LABS = {
    "responsible-ai": "labctl-lab-responsible-ai",
    "fine-tuning": "labctl-lab-fine-tuning",
    "llmops": "labctl-lab-llmops",
    "smoke": "labctl-lab-smoke",
}
MAIN_LABS = ("responsible-ai", "fine-tuning", "llmops")
