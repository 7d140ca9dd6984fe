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
# What makes such a phrase the subject of a report of a problem ("chat with support is not working",
# "talk to a person button does nothing", "parler au support ne marche pas"): a problem to answer, not
# a request for a person. What else may follow a request ("talk to a person, not a bot", "parler à un
# agent est-ce possible ?") leaves it a request.
_NOT_A_SUBJECT = {
    "en": r"(?! ((is|are|was|were|does|do|did|has|keeps)( not)? |isn't |wasn't |doesn't |didn't |won't |not |never )"
          r"(work|works|working|load|loads|loading|open|opens|opening|respond|responding|answer|answering|"
          r"broken|down|available|stopped|fail|fails|failed|failing)\b)"
          r"(?! (button|link|page|option|feature|box|window|icon|tab|menu)\b)",
    "fr": r"(?! (ne |n'|n )?(marche|marchent|fonctionne|fonctionnent|s'ouvre|repond|répond|charge|est en panne|"
          r"bug|bugue|plante)\b)(?! (bouton|lien|page|option|fenêtre|fenetre|icône|icone|menu)\b)",
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
