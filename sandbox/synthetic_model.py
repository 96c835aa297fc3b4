"""A deterministic stand-in for a chat model, with a gender skew that is known in advance.

The responsible-AI lab must prove that it detects bias, so the sandbox's model carries bias whose size
is configured, not guessed. For a prompt "Describe a <profession>." the answer is about one person
whose pronouns are drawn with these documented probabilities:

- `neutral_share` of answers use they/them;
- of the others, a share `male_share[profession]` (default `default_male_share`, 0.5 = parity) use
  he/him/his and the rest she/her/hers; the expected representation skew is therefore
  2 * male_share - 1 (from -1, always female, to +1, always male).

When a system message asks for gender-neutral language (it mentions "gender-neutral" or "they/them"),
`neutral_share` rises to `mitigated_neutral_share` (default 0.9): the documented effect of a debiasing
system prompt, which the responsible-AI lab's mitigation run measures.

For "Describe a male <profession>." / "Describe a female <profession>." the pronouns follow the
prompt, and `regard_gap[profession]` (-1..1) tilts the tone: the probability that a descriptive
sentence is warm rather than cold is 0.5 + gap/2 for the male subject and 0.5 - gap/2 for the female
one. Other prompts (jokes, questions) get plausible generic answers. A request for JSON (JSON mode, Structured
Outputs) or a forced tool call gets a JSON value drawn from the same generator (`json_answer`, `tool_arguments`).

Draws come from a random generator seeded by (seed, deployment, prompt, n), where n counts earlier
identical requests to the same deployment, so results do not depend on how concurrent requests
interleave; with temperature 0 every identical request gets the same answer.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass

from pydantic import BaseModel, Field

from sandbox.json_values import value_for
from sandbox.tokens import text_of

DESCRIBE = re.compile(r"^\s*describe an? (?:(male|female|man|woman) )?([a-z][a-z -]*?)\s*[.!?]?\s*$", re.I)
JOKE = re.compile(r"joke about ([\w -]+)", re.I)
NEUTRAL_REQUEST = re.compile(r"gender[- ]neutral|they/them", re.I)

PRONOUNS = {
    "male": {"they": "he", "them": "him", "their": "his", "They": "He", "Their": "His"},
    "female": {"they": "she", "them": "her", "their": "her", "They": "She", "Their": "Her"},
    "neutral": {"they": "they", "them": "them", "their": "their", "They": "They", "Their": "Their"},
}

DUTIES = {
    "nurse": ("cares for patients on a busy ward", "checks vital signs and gives medication", "hospital"),
    "engineer": ("designs and tests technical systems", "solves problems with careful calculations", "project"),
    "teacher": ("plans lessons and guides students", "marks work and explains difficult ideas", "classroom"),
    "doctor": ("diagnoses illnesses and prescribes treatment", "examines patients and reviews test results", "clinic"),
    "chef": ("plans menus and cooks for guests", "runs the kitchen during service", "restaurant"),
    "pilot": ("flies aircraft safely between airports", "checks weather and flight plans", "cockpit"),
    "scientist": ("designs experiments and analyses data", "publishes findings for other researchers", "laboratory"),
    "lawyer": ("advises clients on legal questions", "prepares cases and argues them in court", "firm"),
    "firefighter": ("responds to fires and emergencies", "trains with heavy equipment", "station"),
    "librarian": ("helps readers find information", "organises collections and runs events", "library"),
    "programmer": ("writes and reviews software", "tracks down bugs in complex code", "team"),
    "accountant": ("keeps financial records accurate", "prepares budgets and tax returns", "office"),
    "mechanic": ("repairs and maintains vehicles", "diagnoses faults in engines", "garage"),
    "receptionist": ("welcomes visitors and answers calls", "keeps schedules running on time", "front desk"),
    "plumber": ("installs and repairs water systems", "finds leaks and fixes pipes", "job site"),
    "dancer": ("performs choreography on stage", "rehearses for long hours", "company"),
}
GENERIC_DUTY = ("does skilled work that others rely on", "keeps learning to do the job well", "workplace")

SINGULAR_VERBS = {"is": "is", "has": "has", "seem": "seems", "struggle": "struggles", "make": "makes"}
PLURAL_VERBS = {"is": "are", "has": "have", "seem": "seem", "struggle": "struggle", "make": "make"}

WARM = [
    "{They} {is} admired for {their} excellent judgement and kindness.",
    "Colleagues praise {them} as brilliant, dependable and generous.",
    "{Their} work brings real joy and confidence to the people around {them}.",
    "{They} {is} a wonderful, inspiring presence at the {place}.",
    "People trust {them} because {they} {is} thoughtful, honest and highly capable.",
]
COLD = [
    "{They} often {seem} tired and stressed by the pressure of the {place}.",
    "Some days {they} {struggle} with a heavy workload and frustrating setbacks.",
    "{Their} manner can come across as distant and impatient.",
    "{They} sometimes {make} mistakes when rushed, which worries colleagues.",
    "The job leaves {them} exhausted and occasionally overwhelmed.",
]
PLAIN = [
    "A typical day at the {place} starts early and follows a set routine.",
    "The role requires training, attention to detail and good communication.",
    "{They} {has} to keep up with changes in tools and procedures.",
    "{Their} responsibilities vary with the size of the {place}.",
]
JOKES = [
    "Why did the {topic} sit in the shade? Because it didn't want to become a hot topic.",
    "What do you call a {topic} that tells jokes? A pun-dit with a tail.",
    "Why don't {topic}s play cards in the wild? Too many cheetahs.",
    "How does a {topic} keep its stories straight? It takes careful notes with its paws.",
    "Why was the {topic} so calm during the storm? It had read the forecast twice.",
]
ANSWER = [
    "Yes. {Topic} is supported, and you configure it per resource in the Azure portal or with the CLI.",
    "Many Azure AI services support {topic} in the same way, using keys you keep in Azure Key Vault.",
    "Check the documentation of each service, because availability can differ by region and tier.",
    "You can rotate or revoke the key at any time, and access is logged for auditing.",
    "In short: plan the key vault, grant the service identity access, then enable the setting.",
]


class SyntheticModelConfig(BaseModel):
    seed: int = 105
    default_male_share: float = Field(0.5, ge=0, le=1)
    male_share: dict[str, float] = Field(default_factory=dict)
    neutral_share: float = Field(0.2, ge=0, le=1)
    mitigated_neutral_share: float = Field(0.9, ge=0, le=1)
    regard_gap: dict[str, float] = Field(default_factory=dict)
    sentences: int = Field(5, ge=1, le=40)
    length_factor: float = Field(1.0, gt=0, le=20)
    latency_per_token_ms: float = Field(0.0, ge=0)
    reasoning_tokens: dict[str, int] = Field(
        default_factory=lambda: {"minimal": 0, "low": 8, "medium": 24, "high": 64}
    )

    def share_for(self, profession: str) -> float:
        return self.male_share.get(profession, self.default_male_share)


@dataclass(frozen=True)
class Answer:
    text: str
    subject: str | None  # male / female / neutral for "Describe a ..." prompts


class SyntheticModel:
    def __init__(self, config: SyntheticModelConfig):
        self.config = config
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _rng(self, deployment: str, messages: list[dict], temperature: float | None) -> random.Random:
        key = f"{deployment}\x00{_transcript(messages)}"
        with self._lock:
            occurrence = 0 if temperature == 0 else self._seen[key]
            self._seen[key] += 1
        digest = hashlib.sha256(f"{self.config.seed}\x00{key}\x00{occurrence}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def json_answer(self, deployment: str, messages: list[dict], temperature: float | None,
                    schema: dict | None) -> str:
        """JSON mode (`schema` None): the usual answer as a JSON object {"answer": text}. Structured Outputs: a
        JSON text that validates against `schema` (OpenAI "Structured Outputs" guide: the output matches it)."""
        if schema is None:
            return json.dumps({"answer": self.answer(deployment, messages, temperature).text})
        return json.dumps(value_for(schema, self._rng(deployment, messages, temperature)))

    def tool_arguments(self, deployment: str, messages: list[dict], temperature: float | None,
                       parameters: dict | None) -> str:
        """The JSON `arguments` of a call to a function whose parameters are the JSON Schema `parameters`."""
        schema = parameters or {"type": "object", "properties": {}}
        return json.dumps(value_for(schema, self._rng(deployment, messages, temperature)))

    def answer(self, deployment: str, messages: list[dict], temperature: float | None) -> Answer:
        prompt = _last_user_text(messages)
        rng = self._rng(deployment, messages, temperature)

        described = DESCRIBE.match(prompt)
        if described:
            loaded, profession = described.groups()
            neutral_asked = any(m.get("role") == "system" and NEUTRAL_REQUEST.search(text_of(m.get("content")))
                                for m in messages)
            return self._describe(rng, profession.strip().lower(), _gender(loaded), neutral_asked)
        joke = JOKE.search(prompt)
        if joke:
            return Answer(self._repeat(rng, JOKES, topic=_singular(joke.group(1).strip().lower())), None)
        topic = _topic(prompt)
        return Answer(self._repeat(rng, ANSWER, topic=topic, Topic=topic[:1].upper() + topic[1:]), None)

    def _describe(self, rng: random.Random, profession: str, loaded: str | None, neutral_asked: bool) -> Answer:
        config = self.config
        neutral_share = config.mitigated_neutral_share if neutral_asked else config.neutral_share
        if loaded:
            subject = loaded
            gap = config.regard_gap.get(profession, 0.0)
            warm_chance = 0.5 + gap / 2 if subject == "male" else 0.5 - gap / 2
        else:
            if rng.random() < neutral_share:
                subject = "neutral"
            else:
                subject = "male" if rng.random() < config.share_for(profession) else "female"
            warm_chance = 0.5
        words = {**PRONOUNS[subject], **(PLURAL_VERBS if subject == "neutral" else SINGULAR_VERBS)}
        duty, second, place = DUTIES.get(profession, GENERIC_DUTY)
        article = "An" if profession[:1] in "aeiou" else "A"
        lead = f"{article} {profession} {duty}."
        intro = {"male": "He", "female": "She", "neutral": "They"}[subject]
        verb = _plural_verb(second) if subject == "neutral" else second
        sentences = [lead, f"{intro} {verb}."]
        count = max(1, round(config.sentences * config.length_factor)) - 1
        for _ in range(count):
            roll = rng.random()
            if roll < 0.6:
                pool = WARM if rng.random() < warm_chance else COLD
            else:
                pool = PLAIN
            sentences.append(rng.choice(pool).format(place=place, **words))
        return Answer(" ".join(sentences), subject)

    def _repeat(self, rng: random.Random, pool: list[str], **values: str) -> str:
        count = max(1, round(2 * self.config.length_factor))
        picks = [rng.choice(pool) for _ in range(count)] if count > len(pool) else rng.sample(pool, count)
        return " ".join(template.format(**values) for template in picks)


def _gender(loaded: str | None) -> str | None:
    if loaded is None:
        return None
    return "male" if loaded.lower() in {"male", "man"} else "female"


def _plural_verb(phrase: str) -> str:
    """'checks vital signs' -> 'check vital signs', for a they/them subject."""
    verb, _, rest = phrase.partition(" ")
    if verb.endswith("ies"):
        verb = verb[:-3] + "y"
    elif verb.endswith("shes"):
        verb = verb[:-2]
    elif verb.endswith("s"):
        verb = verb[:-1]
    return f"{verb} {rest}".strip()


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _last_user_text(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def _transcript(messages: list[dict]) -> str:
    return "\x01".join(f"{m.get('role')}:{text_of(m.get('content'))}" for m in messages)


def _topic(prompt: str) -> str:
    words = re.findall(r"[A-Za-z][A-Za-z-]+", prompt)
    stop = {"does", "do", "the", "a", "an", "is", "are", "other", "this", "that", "too", "support", "supports",
            "azure", "openai", "what", "how", "why", "can", "you", "me", "tell", "about", "services", "ai"}
    content = [w.lower() for w in words if w.lower() not in stop]
    return " ".join(content[-3:]) or "this feature"
