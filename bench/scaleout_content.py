"""What the scale-out benchmark's clients send: small Markdown and text files, a few PDFs, CSV batches of cases,
and the searches and questions that find them. Every file is unique (a random line), so no upload is a
deduplicated one unless it is the same upload sent again after a lost answer."""

from __future__ import annotations

import io
import random
import uuid

from reportlab.pdfgen.canvas import Canvas

TOPICS = {
    "rivers": "river flood ledger valley bridge bank current delta harbour ferry",
    "contracts": "contract notice termination clause party liability renewal invoice payment term",
    "weather": "storm rainfall forecast pressure front drought humidity wind season frost",
    "support": "customer refund delivery complaint order parcel courier warranty replacement agent",
    "finance": "budget audit revenue expense quarter forecast margin ledger account balance",
    "health": "patient clinic dose trial symptom nurse ward recovery screening vaccine",
}
VERBS = "records describes requires mentions explains delays changes follows reports confirms".split()


def sentence(rng: random.Random, topic: str) -> str:
    words = TOPICS[topic].split()
    subject, object_, extra = rng.sample(words, 3)
    return f"The {subject} {rng.choice(VERBS)} the {object_} and the {extra}."


def markdown(rng: random.Random) -> tuple[str, bytes, str]:
    """(file name, content, content type) of a small Markdown or text file about one topic."""
    topic = rng.choice(list(TOPICS))
    paragraphs = [" ".join(sentence(rng, topic) for _ in range(rng.randint(2, 5))) for _ in range(rng.randint(2, 6))]
    marker = uuid.uuid4().hex
    if rng.random() < 0.5:
        body = f"# Notes on {topic}\n\n" + "\n\n## Section\n\n".join(paragraphs) + f"\n\nReference {marker}.\n"
        return f"{topic}-{marker[:8]}.md", body.encode(), "text/markdown"
    return f"{topic}-{marker[:8]}.txt", ("\n\n".join(paragraphs) + f"\n\nReference {marker}.\n").encode(), "text/plain"


def pdf(rng: random.Random) -> tuple[str, bytes, str]:
    """A PDF of two or three pages of sentences about one topic."""
    topic = rng.choice(list(TOPICS))
    output = io.BytesIO()
    canvas = Canvas(output)
    canvas.setTitle(f"Report on {topic}")
    for _ in range(rng.randint(2, 3)):
        for line in range(20):
            canvas.drawString(72, 760 - 18 * line, sentence(rng, topic))
        canvas.showPage()
    canvas.drawString(72, 760, f"Reference {uuid.uuid4().hex}.")
    canvas.save()
    return f"{topic}-report.pdf", output.getvalue(), "application/pdf"


def cases_csv(rng: random.Random, rows: int = 5) -> bytes:
    """A CSV of customer messages with external ids, as a support tool exports them."""
    lines = ["id,text,channel"]
    for _ in range(rows):
        text = " ".join(sentence(rng, "support") for _ in range(2))
        lines.append(f"{uuid.uuid4().hex[:12]},{text},{rng.choice(['email', 'chat', 'phone'])}")
    return ("\n".join(lines) + "\n").encode()


def query(rng: random.Random) -> str:
    return " ".join(rng.sample(TOPICS[rng.choice(list(TOPICS))].split(), 2))


def question(rng: random.Random) -> str:
    words = rng.sample(TOPICS[rng.choice(list(TOPICS))].split(), 2)
    return f"What does the {words[0]} say about the {words[1]}?"
