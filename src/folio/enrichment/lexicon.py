"""The words the offline enrichment engine reads: VADER adjusted to support messages, and risk and problem terms.

Every term list is a regex matched case-insensitively on word boundaries; each alternative may be a phrase (its
spaces match any run of spaces or hyphens) and takes an optional inflection (-s, -es, -d, -ed, -ing) at its end:
`lawyer` also matches "lawyers" and `sue` "sued". Inflections inside a phrase are written out: `(?:charged|billed)
twice`.
"""

from __future__ import annotations

import re

# VADER was built on social-media posts. In support messages courtesy ("please help", "kind regards"), fillers ("I'd
# like to") and product vocabulary ("support team", "saved projects", "security settings") carry no feeling, while
# problems are told in words VADER does not know ("the app crashes"). Measured on tests/enrichment/labelled.py
# (CASES, VADER's standard cut-offs): sentiment accuracy 0.68 with these changes, 0.55 without.
NO_FEELING = (
    "please help support like save saved security secure free credit care accept accepted pay spam offline effective"
).split()
PROBLEM_VALENCE: dict[str, float] = {
    **dict.fromkeys(["crash", "crashes", "crashed", "crashing", "errors"], -1.7),
    **dict.fromkeys(["bug", "bugs", "buggy", "glitch", "glitches", "freezes", "stuck", "unresponsive"], -1.5),
    **dict.fromkeys(["leaks", "leaking"], -1.4),
    **dict.fromkeys(["slow", "late", "unable"], -1.0),
    **dict.fromkeys(["outage", "overcharged"], -2.0),
}
# Mildly positive so that VADER's negation turns "never arrived", "haven't received", "nothing works" negative;
# too weak on their own to make a flat statement ("it arrived on Monday") read as positive.
NEGATABLE_VALENCE = dict.fromkeys(
    "arrive arrives arrived received works working worked replied reply answered responded updated".split(), 0.5
)
SUPPORT_VALENCE: dict[str, float] = {**dict.fromkeys(NO_FEELING, 0.0), **PROBLEM_VALENCE, **NEGATABLE_VALENCE}


def terms(*alternatives: str) -> re.Pattern[str]:
    """A case-insensitive, word-bounded pattern for `alternatives` (regex fragments), each optionally inflected."""
    phrases = "|".join(alternative.replace(" ", r"[\s-]+") for alternative in alternatives)
    return re.compile(rf"\b(?:{phrases})(?:s|es|d|ed|ing)?\b", re.IGNORECASE)


# Critical: harm to people, data or the business that a person must see now.
SAFETY = terms(
    "injur(?:y|ies|ed)",
    "burn(?:t|ed)?",
    "burning smell",
    "fire hazard",
    "caught fire",
    "smok(?:e|ing)",
    "spark",
    "electric(?:al)? shock",
    "explod(?:e|ed|ing)",
    "explosion",
    "melt",
    "overheat",
    "chok(?:e|ing) hazard",
    "choked",
    "stitches",
    "hospital",
    "emergency room",
    "bleed",
    "unsafe",
    "dangerous",
    "safety (?:hazard|issue|risk|concern)",
)
SECURITY = terms(
    "data breach",
    "security breach",
    "breach",
    "hack",
    "hacker",
    "compromised",
    "data leak",
    "leaked (?:data|details|passwords?)",
    "exposed",
    "unauthori[sz]ed access",
    "phishing",
    "identity theft",
    "vulnerabilit(?:y|ies)",
    "security (?:hole|flaw|issue)",
)
LEGAL = terms(
    "lawyer",
    "attorney",
    "solicitor",
    "lawsuit",
    "sue",
    "suing",
    "legal action",
    "legal proceedings",
    "class action",
    "small claims",
    "(?:take|taking) (?:you|this|them) to court",
)
REGULATOR = terms(
    "regulator",
    "ombudsman",
    "trading standards",
    "data protection (?:authority|commissioner|office)",
    "consumer protection",
    "better business bureau",
    "FTC",
    "FCA",
    "CFPB",
    "attorney general",
    "reporting you to",
    "report you to",
)
FRAUD = terms(
    "fraud",
    "fraudulent",
    "scam",
    "scammed",
    "unauthori[sz]ed (?:charge|payment|transaction)",
    "without (?:my )?(?:authori[sz]ation|permission|consent)",
    "stolen (?:card|identity|data|account|details|credentials)",
)
OUTAGE = terms(
    "outage",
    "down for (?:everyone|everybody|all)",
    "nothing (?:works|is working|loads)",
    "(?:site|website|app|service|system|server|platform|portal|api) (?:is |are |went |has gone )?(?:completely )?down",
    "all (?:of )?(?:our|my) (?:users|customers|staff)",
    "(?:can't|cannot) (?:process|take) any",
)
CRITICAL = (SAFETY, SECURITY, LEGAL, REGULATOR, FRAUD, OUTAGE)

# High and a risk: the case may leave the support desk (to the press, to a competitor).
PRESS = terms("journalist", "reporter", "the press", "the media", "newspaper", "going public", "social media")
COMPETITOR = terms(
    "competitor",
    "switch(?:ing)? to (?:another|a different|your competitor)",
    "moving to (?:another|a different|your competitor)",
    "another (?:provider|company|supplier)",
    "(?:go|going|take my business) elsewhere",
)
ELEVATED = (PRESS, COMPETITOR)

# High, no risk: money at stake or a customer about to leave.
MONEY = terms(
    "(?:charged|billed) (?:me )?(?:twice|again|two times|three times|multiple times)",
    "double (?:charged|billed|charge)",
    "overcharged",
    "(?:two|three|multiple|several) payments",
    "money back",
    "no refund",
    "(?:haven't|have not|never|not) (?:yet )?(?:received|got|seen) (?:my |the |a |any )?(?:refund|money)",
    "(?:still|been) waiting for (?:my |the |a )?(?:refund|money)",
    "disput(?:e|ing)",
    "chargeback",
)
CHURN = terms(
    "(?:i'm|i am|i will|i'll|going to|will be) cancel(?:l?ing)?",
    "cancel everything",
    "i'm done",
    "i am done",
    "last chance",
    "never (?:use|buy|order) (?:from )?(?:you|this|it) again",
)
# VADER's compound score does not tell anger from a plain defect report ("the zipper broke, really disappointed"
# scores lower than "rude agent, terrible support"): words of anger do.
ANGER = terms(
    "terrible",
    "awful",
    "horrible",
    "unacceptable",
    "ridiculous",
    "outrageous",
    "disgusting",
    "appalling",
    "pathetic",
    "furious",
    "livid",
    "angry",
    "fed up",
    "sick of",
    "worst",
    "rude",
    "a joke",
    "how dare",
)
DATA_LOSS = terms("(?:lost|deleted|wiped|erased) (?:all|every)", "data loss")
HIGH = (MONEY, CHURN, ANGER, DATA_LOSS)

_NOT = (
    "(?:doesn't|does not|don't|won't|wont|can't|cant|cannot|couldn't|haven't|hasn't|have not|has not|didn't|did not"
    "|never)"
)
# Medium: something is wrong, even when it is told without feeling.
PROBLEM = terms(
    "broke",
    "broken",
    "crash",
    "error",
    "bug",
    "fail",
    "failure",
    "not working",
    "stopped working",
    rf"{_NOT} (?:\w+ )?(?:work|load|open|save|log|sign|get|find|access|use|return)",
    rf"{_NOT} (?:\w+ ){{0,2}}(?:received|arrived|updated|replied|heard|had|come|came|shown)",
    "no (?:reply|response|answer|call|update|email|news)",
    r"keeps? \w+ing",
    "invalid",
    "incorrect",
    "not as described",
    "nothing like",
    "suspended",
    "blocked",
    "declined",
    "disconnected",
    "hung up",
    "on hold",
    "stuck",
    "frozen",
    "freez(?:e|es|ing)",
    "missing",
    "lost",
    "late",
    "delayed",
    "damaged",
    "defective",
    "faulty",
    "wrong",
    "locked",
    "expired",
    "never (?:arrived|came|comes|arrives|received)",
    "no reply",
    "still waiting",
    "leak",
    "cancel",
)
