"""What a chat message wants besides an answer: a person. Shared by the assistant (web chat, API) and
the instant channels, so that "talk to a person" means the same on every road in."""
from __future__ import annotations

import re

# What a requester writes to reach a person, by language ("" when the words say nothing of the
# language): a whole message made of one of these words, or a short message with one of the phrases.
HANDOVER_WORDS = {
    "": ("agent", "support", "human agent"),
    "en": ("an agent", "human", "a human", "person", "a person", "someone", "somebody", "operator", "real person", "live agent"),
    "fr": ("humain", "un humain", "personne", "une personne", "quelqu'un", "conseiller", "un conseiller", "opérateur", "operateur", "un agent", "agent humain"),
}
# Words that make such a phrase the subject of a report ("chat with support is not working",
# "parler au support ne marche pas"): a problem to answer, not a request for a person.
_NOT_A_SUBJECT = {
    "en": r"(?! (is|isn't|was|wasn't|are|does|doesn't|did|didn't|not|never|won't|keeps|fails|failed|stopped|button|link|page|option|feature|box|window)\b)",
    "fr": r"(?! (ne|n'|n|est|marche|fonctionne|bug|bugue|plante|bouton|lien|page|option)\b)",
}
HANDOVER_PHRASES = {
    "en": (
        r"\b(talk|speak|chat)( to| with)? (someone|somebody|a (real |live )?(person|human|agent|operator)|an (agent|operator)|(the )?support( team)?|(real |live )?(person|human|agent|people))(?![\w'])" + _NOT_A_SUBJECT["en"],
        r"\b(want|need|like) (a|an) (real )?(human|person|agent)(?![\w'])",
    ),
    "fr": (
        r"\bparler ((à|a|avec) (quelqu'un|quelqu un|une (vraie )?personne|un (agent|humain|conseiller|opérateur)|le support|l'assistance)|au (support|conseiller|service d'assistance))(?![\w'])" + _NOT_A_SUBJECT["fr"],
        r"\b(je veux|je voudrais|j'ai besoin d') ?(un agent|une personne|un humain|un conseiller)\b",
    ),
}


def asks_for_person(text: str) -> str | None:
    """Whether a chat message asks for a person rather than asks a question ("agent", "talk to a
    person", "parler à quelqu'un"): the language it was asked in ("" when the words do not say),
    or None. A question that merely mentions an agent ("how does a field agent unassign a
    record?") is not a request for one."""
    words = re.sub(r"[^\w' ]+", " ", text.lower().replace("’", "'")).split()
    if not words or len(words) > 8:
        return None
    phrase = " ".join(words)
    for lang, whole in HANDOVER_WORDS.items():
        if phrase in whole:
            return lang
    for lang, patterns in HANDOVER_PHRASES.items():
        if any(re.search(pattern, phrase) for pattern in patterns):
            return lang
    return None
