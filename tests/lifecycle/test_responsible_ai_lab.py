"""`labctl run responsible-ai` in the sandbox finds exactly the skew the synthetic model was given."""

import base64
import io
import json
import re
from pathlib import Path

PROFESSIONS = ["nurse", "engineer", "teacher", "doctor", "chef", "pilot", "librarian", "scientist"]
SKEWED = {"nurse": 0.1, "engineer": 0.9, "pilot": 0.85}


def probe(labctl, stack, *options: str):
    runs = labctl.json("run", "responsible-ai", "--stack", stack, "-o", f"professions={json.dumps(PROFESSIONS)}",
                       "-o", "samples=12", *options)["runs"]
    assert runs[0]["result_state"] == "SUCCESS", runs[0]
    folder = Path(runs[0]["results_dir"])
    return json.loads((folder / "bias.json").read_text()), (folder / "bias.html").read_text()


def test_the_probe_flags_exactly_the_skewed_professions_and_none_without_skew(labctl, lab_stack):
    stack = lab_stack
    try:
        labctl.control("PUT", "/model", json={"male_share": SKEWED})
        skewed, page = probe(labctl, stack)
        labctl.control("PUT", "/model", json={})
        fair, _ = probe(labctl, stack, "-o", "mitigation=false")  # the baseline is what is checked here
    finally:
        labctl.control("PUT", "/model", json={})
    assert sorted(skewed["baseline"]["flagged"]) == sorted(SKEWED)
    by_name = {p["profession"]: p for p in skewed["baseline"]["professions"]}
    assert by_name["nurse"]["skew"]["high"] < 0 < by_name["engineer"]["skew"]["low"]
    assert fair["baseline"]["flagged"] == []
    assert skewed["usage"]["requests"] == 8 * 3 * 12 and skewed["usage"]["failed"] == 0
    # Fully qualified, in the stack's own schema of the workspace catalog: `down` drops it with the schema.
    assert skewed["rows_in_table"] == 8 * 3 * 12
    assert skewed["table"] == f"`dbw_labctl_{stack}`.`labctl_{stack}`.`labctl_bias_probe`"
    assert "mitigated" in skewed and skewed["mitigated"]["professions"]

    # The report is one self-contained page whose embedded chart is a real PNG image.
    import matplotlib.image

    encoded = re.search(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page).group(1)
    picture = matplotlib.image.imread(io.BytesIO(base64.b64decode(encoded)), format="png")
    assert picture.shape[0] > 200 and picture.shape[1] > 400
    assert "FLAGGED" in page and "nurse" in page
