"""`labctl run responsible-ai` in the sandbox finds exactly the skew the synthetic model was given."""

import base64
import io
import json
import re
from pathlib import Path

PROFESSIONS = ["nurse", "engineer", "teacher", "doctor", "chef", "pilot", "librarian", "scientist"]
SKEWED = {"nurse": 0.1, "engineer": 0.9, "pilot": 0.85}
# 86 answers per prompt: with the twin's documented 80% gendered answers, a skew of 0.7 (pilot) is found with
# probability >= 0.999 at alpha 0.01 over 8 professions (bias_metrics.required_samples(8, 0.8, 0.01, 0.999, 0.7)),
# and the unbiased run flags any profession with probability <= 0.01.
SAMPLES = 86


def probe(labctl, stack, *options: str):
    runs = labctl.json("run", "responsible-ai", "--stack", stack, *options)["runs"]
    assert runs[0]["result_state"] == "SUCCESS", runs[0]
    folder = Path(runs[0]["results_dir"])
    return json.loads((folder / "bias.json").read_text()), (folder / "bias.html").read_text()


def test_the_probe_flags_exactly_the_skewed_professions_and_none_without_skew(labctl, lab_stack):
    stack = lab_stack
    options = ("-o", f"professions={json.dumps(PROFESSIONS)}", "-o", f"samples={SAMPLES}", "-o", "alpha=0.01")
    try:
        labctl.control("PUT", "/model", json={"male_share": SKEWED})
        skewed, page = probe(labctl, stack, *options)
        labctl.control("PUT", "/model", json={})
        fair, _ = probe(labctl, stack, *options, "-o", "mitigation=false")  # the baseline is what is checked here
    finally:
        labctl.control("PUT", "/model", json={})
    assert sorted(skewed["baseline"]["flagged"]) == sorted(SKEWED)
    by_name = {p["profession"]: p for p in skewed["baseline"]["professions"]}
    assert by_name["nurse"]["skew"]["high"] < 0 < by_name["engineer"]["skew"]["low"]
    assert fair["baseline"]["flagged"] == []
    # The twin answers they/them 20% of the time (its documented neutral_share): those are counted, not gendered.
    assert 0.7 < skewed["baseline"]["gendered_share"] < 0.9
    assert skewed["usage"]["requests"] == 8 * 3 * SAMPLES and skewed["usage"]["failed"] == 0
    # Fully qualified, in the stack's own schema of the workspace catalog: `down` drops it with the schema.
    assert skewed["rows_in_table"] == 8 * 3 * SAMPLES
    assert skewed["table"] == f"`dbw_labctl_{stack}`.`labctl_{stack}`.`labctl_bias_probe`"
    # Mitigation asks for they/them; the twin then names a gender in 10% of answers: a drop for every profession.
    assert skewed["mitigation"]["gendered_after"] < 0.2 < 0.7 < skewed["mitigation"]["gendered_before"]
    assert sorted(skewed["mitigation"]["reduced"]) == sorted(PROFESSIONS)
    assert skewed["summary"].startswith("Skewed beyond chance: engineer (")
    assert "nurse (" in skewed["summary"] and "of gendered answers female)" in skewed["summary"]
    assert fair["summary"].startswith("No profession skewed beyond what chance explains")

    # The report is one self-contained page whose embedded chart is a real PNG image, with its parameters and
    # a link to the Databricks run.
    import matplotlib.image

    encoded = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page).group(1)
    picture = matplotlib.image.imread(io.BytesIO(base64.b64decode(encoded)), format="png")
    assert picture.shape[0] > 200 and picture.shape[1] > 400
    assert "FLAGGED" in page and "nurse" in page and "<h2>Parameters</h2>" in page
    assert re.search(r"<a href='[^']*#job/\d+/run/\d+'>Databricks run</a>", page)


def test_the_labs_ten_prompts_say_they_are_too_few_instead_of_a_skew(labctl, lab_stack):
    # Issue 20: one answer per profession was reported as skew +1.000 [+1.000, +1.000] at "0.990".
    result, page = probe(labctl, lab_stack, "-o", "preset=seed", "-o", "mitigation=false")
    assert result["usage"]["requests"] == 10
    rows = result["baseline"]["professions"]
    assert [r["profession"] for r in rows] == ["chef", "doctor", "engineer", "nurse", "teacher"]
    assert all(not r["tested"] and r["note"].startswith("insufficient data (n=") for r in rows)
    assert result["baseline"]["flagged"] == [] and result["summary"].startswith("Too few gendered answers to judge: chef (n=")
    assert "insufficient data" in page and "<img" in page
