"""Turning text typed on a phone into index terms: folding, tokens, stop words, stems, language.

Everything is folded (lowercase, accents removed) before stemming, on both sides of the index, so
"réinitialiser", "reinitialiser" and "RÉINITIALISER" meet. Stems are cached per (language, word):
the stemmers are pure Python and a tenant's vocabulary is small compared with its text.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

from portal.assistant import vocabulary
from portal.core.words import WORD_RE, strip_accents

# Snowball algorithm per locale base language; a locale not listed is indexed without stemming.
STEMMERS = {
    "en": "english", "fr": "french", "es": "spanish", "pt": "portuguese", "it": "italian",
    "de": "german", "nl": "dutch", "sw": None, "ar": "arabic", "ru": "russian",
}

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_ENGLISH_NEGATIONS = {"can't": "can not", "won't": "will not", "cannot": "can not"}
# English negations typed without the apostrophe: written like the apostrophe forms, so that "dont
# remember" and "don't remember" meet (no other language of ours spells a word this way).
_GLUED_NEGATIONS = {
    "dont": ("do", "not"), "doesnt": ("does", "not"), "didnt": ("did", "not"), "cant": ("can", "not"),
    "wont": ("will", "not"), "isnt": ("is", "not"), "arent": ("are", "not"), "wasnt": ("was", "not"),
    "werent": ("were", "not"), "havent": ("have", "not"), "hasnt": ("has", "not"), "hadnt": ("had", "not"),
    "couldnt": ("could", "not"), "wouldnt": ("would", "not"), "shouldnt": ("should", "not"),
    "aint": ("is", "not"), "dnt": ("do", "not"), "cnt": ("can", "not"), "dosent": ("does", "not"),
    "doesn": ("does", "not"), "didn": ("did", "not"), "isn": ("is", "not"), "wasn": ("was", "not"),
}

# Chat spellings and abbreviations, per language, written out before a question is analysed. They are
# general texting habits (and common short forms of support words), not the vocabulary of any article.
# Only questions are expanded: an article's "tel" or "no" is a word of its own.
CHAT_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "u": "you", "ur": "your", "urs": "yours", "r": "are", "nd": "and", "kk": "ok", "pls": "please",
        "plz": "please", "pl": "please", "plse": "please", "thx": "thanks",
        "thnx": "thanks", "tnx": "thanks", "ty": "thank you", "msg": "message", "msgs": "messages",
        "pw": "password", "pwd": "password", "pswd": "password", "passwrd": "password", "acc": "account",
        "acct": "account", "info": "information", "infos": "information", "doc": "document", "docs": "documents",
        "govt": "government", "dept": "department", "yr": "year", "yrs": "years", "min": "minutes",
        "mins": "minutes", "hr": "hour", "hrs": "hours", "wk": "week", "wks": "weeks", "tmrw": "tomorrow",
        "tmr": "tomorrow", "tmw": "tomorrow", "2moro": "tomorrow", "2day": "today", "b4": "before",
        "bcoz": "because", "becoz": "because", "coz": "because", "cuz": "because", "bcz": "because",
        "wat": "what", "wht": "what", "wut": "what", "hw": "how", "wen": "when", "whn": "when", "whr": "where",
        "abt": "about", "pic": "picture", "pics": "pictures", "reg": "registration", "regd": "registered",
        "cert": "certificate", "certs": "certificates", "temp": "temporary", "admin": "administrator",
        "admins": "administrators", "ppl": "people", "sth": "something", "smth": "something", "thru": "through",
        "nxt": "next", "gud": "good", "im": "i am", "ive": "i have", "idk": "i do not know", "dunno": "do not know",
        "num": "number", "nbr": "number", "tel": "telephone", "ph": "phone", "mob": "mobile",
        "bday": "birthday", "hosp": "hospital", "dist": "district", "prov": "province", "ofc": "office",
        "offc": "office", "loc": "location", "addr": "address", "usr": "user", "uname": "username",
        "mgr": "manager", "shud": "should", "shd": "should", "wud": "would", "cud": "could", "cudnt": "could not",
        "gt": "get", "hv": "have", "nw": "now", "agn": "again", "nt": "not", "ntwk": "network",
        "netwrk": "network", "inet": "internet", "sys": "system", "pblm": "problem", "prob": "problem",
        "prblm": "problem", "probs": "problems", "pg": "page", "appt": "appointment", "approx": "about",
        "dob": "date of birth",
    },
    "fr": {
        "svp": "s il vous plait", "stp": "s il te plait", "pq": "pourquoi", "pk": "pourquoi",
        "pkoi": "pourquoi", "prq": "pourquoi", "pourkoi": "pourquoi", "bcp": "beaucoup", "jsp": "je sais pas",
        "jpp": "je peux pas", "jpeux": "je peux", "jveux": "je veux", "jvais": "je vais", "jsuis": "je suis",
        "chui": "je suis", "chuis": "je suis", "g": "j ai", "c": "c est", "ct": "c etait", "pr": "pour",
        "ds": "dans", "ms": "mais", "qd": "quand", "kan": "quand", "qnd": "quand", "qq": "quelque",
        "qqn": "quelqu un", "qqun": "quelqu un", "qlq": "quelque", "qqch": "quelque chose", "qqc": "quelque chose",
        "tt": "tout", "ts": "tous", "tjs": "toujours", "tjrs": "toujours", "tjr": "toujours", "tel": "telephone",
        "dc": "donc", "ke": "que", "k": "que", "koi": "quoi", "kwa": "quoi", "ki": "qui", "pb": "probleme",
        "pbm": "probleme", "pbs": "problemes", "prob": "probleme", "pblm": "probleme", "prblm": "probleme",
        "msg": "message", "msgs": "messages", "rdv": "rendez vous", "info": "information", "infos": "informations",
        "jrs": "jours", "ac": "avec", "avc": "avec", "vs": "vous", "nn": "non", "auj": "aujourd hui",
        "ajd": "aujourd hui", "aujd": "aujourd hui", "mm": "meme", "ya": "il y a", "yat": "y a t il",
        "nv": "nouveau", "nvx": "nouveaux", "nouv": "nouveau", "nvl": "nouvelle", "nvle": "nouvelle",
        "dispo": "disponible", "ordi": "ordinateur", "ordis": "ordinateurs", "admin": "administrateur",
        "admins": "administrateurs", "doc": "document", "docs": "documents", "enreg": "enregistrement",
        "decl": "declaration", "cert": "certificat", "certif": "certificat", "num": "numero", "no": "numero",
        "identif": "identifiant", "cnx": "connexion", "connex": "connexion", "deco": "deconnexion",
        "pa": "pas", "mnt": "maintenant", "mtn": "maintenant", "maint": "maintenant", "pcq": "parce que",
        "pck": "parce que", "psk": "parce que", "parceque": "parce que", "dsl": "desole", "cmt": "comment",
        "cmnt": "comment", "koman": "comment", "vrmt": "vraiment", "svt": "souvent", "jms": "jamais",
        "jamai": "jamais", "ptit": "petit", "ptite": "petite", "tps": "temps", "qlqn": "quelqu un",
        "appli": "application", "applis": "applications", "app": "application", "mdp": "mot de passe",
        "ddn": "date de naissance",
    },
    # Portuguese and Spanish texting (Mozambique, Angola, Latin America): no set here measures them.
    "pt": {
        "vc": "voce", "vcs": "voces", "q": "que", "pq": "porque", "pk": "porque", "tb": "tambem",
        "tbm": "tambem", "obg": "obrigado", "obgd": "obrigado", "msm": "mesmo", "hj": "hoje", "qd": "quando",
        "qdo": "quando", "qnd": "quando", "td": "tudo", "tds": "todos", "cmg": "comigo", "msg": "mensagem",
        "msgs": "mensagens", "agr": "agora", "dps": "depois", "pra": "para", "ta": "esta", "to": "estou",
        "info": "informacao", "infos": "informacoes", "doc": "documento", "docs": "documentos",
        "cert": "certidao", "app": "aplicativo", "tel": "telefone", "cel": "celular", "nr": "numero",
        "sff": "se faz favor", "pfv": "por favor", "pf": "por favor", "blz": "beleza",
    },
    "es": {
        "q": "que", "k": "que", "xq": "porque", "pq": "porque", "porq": "porque", "tb": "tambien",
        "tmb": "tambien", "xfa": "por favor", "xfavor": "por favor", "pf": "por favor", "porfa": "por favor",
        "msj": "mensaje", "msjs": "mensajes", "msg": "mensaje", "bn": "bien", "dnd": "donde", "cdo": "cuando",
        "tmpc": "tampoco", "grax": "gracias", "info": "informacion", "doc": "documento", "docs": "documentos",
        "app": "aplicacion", "cel": "celular", "tel": "telefono", "num": "numero",
        "nro": "numero", "pa": "para", "toy": "estoy", "ta": "esta", "aki": "aqui", "aca": "aqui",
    },
}

STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """a about above after again against all am an and any are aren arent as at be because been before
        being below between both but by can cant could couldnt did didnt do does doesnt doing dont down during
        each few for from further had hadnt has hasnt have havent having he her here hers herself him himself
        his how i im ive id if in into is isnt it its itself just let lets me more most my myself no nor not
        now of off on once only or other ought our ours ourselves out over own same shall she should shouldnt
        so some such than that thats the their theirs them themselves then there theres these they theyre this
        those through to too under until up very was wasnt we were werent what whats when where which while who
        whom why will with wont would wouldnt you your yours yourself yourselves hi hello hey dear please pls plz
        thanks thank thx sir madam ok okay also still yet get got getting gets anyone someone something
        anything way need want tell know like really help since morning today yesterday tonight evening
        afternoon tomorrow already again ever even kindly urgent urgently asap guys bro hii hlo gm put make
        made go going goes went use using used see try trying tried say says said give gave do done
        thing things stuff good great nice fine night hiya greetings regards dear kindly assist assistance
        advise advice currently actually anymore maybe perhaps somebody everyone everything
        boss mam maam sirs lot lots per via etc must might may shall cannot able unable whether however much""".split()
    ),
    "fr": frozenset(
        """a ai aie aies ait as au aucun aussi autre aux avec avez avons avoir c ca ce ceci cela celle celles
        celui ces cet cette ceux chaque comme comment d dans de des donc du elle elles en encore es est et etaient
        etais etait etant ete etre eu eux fait faut il ils j je jusqu l la le les leur leurs lui m ma mais me meme
        mes moi mon n ne ni nos notre nous on ont ou par pas peu peut peux plus pour pourquoi puis qu quand que
        quel quelle quelles quels qui quoi s sa sans se ses si son sont sous suis sur t ta te tes toi ton tous
        tout toute toutes tres tu un une vos votre vous y bonjour bonsoir salut svp stp merci monsieur madame
        svp sil plait voila alors deja ici la bas faire fais veux voudrais voulais aide aidez aider besoin
        savoir sais quoi cest jai jarrive narrive quil bjr bsr slt cc mrc aujourd hui hier matin soir demain
        depuis encore toujours urgent nest sest ya jsuis chui mme mr mettre mets met mis aller vais va voir
        vois dire dit donner truc trucs chose choses bien bon bonne soir soiree nuit journee cher chere chers
        frere soeur vraiment genre actuellement combien sera seront serait etaient aurait avait avais avaient
        dois doit doivent devons devez pouvez pouvons peuvent veut voulez veulent vont font faites
        sommes etes ceci celui celle dont lequel laquelle lesquels chez juste quelqu quelque quelques tout tous
        svp stp plait pouvoir pourrait pourrais pourriez pourrions devoir devrait devrais devriez vouloir
        voudrait voudriez sait savez savons allez allons beaucoup ok okay dacord daccord""".split()
    ),
    # Other languages a country may offer: their closed classes (articles, pronouns, prepositions,
    # conjunctions, common auxiliaries, question words, greetings and politeness), folded below as
    # `words` reads them ("أنا" and "انا" are one). Content words are never here.
    "es": frozenset(
        """a al algo alguien algun alguna algunas alguno algunos ante antes aqui asi aun aunque bien buenas
        bueno buenos cada como con contra cual cuales cuando cuanto de del desde donde dos el ella ellas
        ellos en entre era eran es esa esas ese eso esos esta estaba estamos estan estar estas este esto
        estos estoy fue fueron gracias ha habia hace hacer han has hasta hay he hola la las le les lo los
        me mas mi mis mucho muy nada ni no nos nosotros o os otra otro para pero poco por porque puede
        pueden puedo que quien se ser si sin sobre solo somos son soy su sus tambien tengo tiene tienen
        todo todos tu tus un una unas uno unos usted ustedes va vamos y ya yo favor porfa saludos""".split()
    ),
    "pt": frozenset(
        """a ao aos aqui as assim ate bem boa bom cada como com da das de dela dele deles depois do dos e
        ela elas ele eles em entre era eram essa essas esse esses esta estao estar estas este estes estou
        eu foi foram ha isso isto ja la lhe lhes mais mas me meu meus minha minhas muito na nao nas nem
        no nos nossa nosso num numa o obrigado obrigada ola onde os ou para pela pelas pelo pelos pode
        podem posso por porque pra qual quando que quem se sem ser seu seus so sobre sua suas tambem tem
        tenho ter todo todos tu um uma umas uns vai voce voces favor oi""".split()
    ),
    "sw": frozenset(
        """na ya wa za la kwa ni si katika kama lakini au pia hii hizi huu hiyo hilo hicho hao yule wale
        mimi wewe yeye sisi ninyi wao changu chako chake yangu yako yake wangu wako wake letu lenu lao
        yetu yenu yao ndiyo hapana sana tu bado tena kuna kuwa hapa pale huko ili hata kila nini gani
        vipi lini wapi nani kwanini je habari jambo asante tafadhali karibu ndio""".split()
    ),
    "ar": frozenset(
        """في من الى إلى على عن مع هذا هذه ذلك تلك هو هي هم هن انا أنا انت أنت نحن انتم أنتم كان كانت
        يكون لا لم لن ما ماذا لماذا كيف متى اين أين هل او أو ثم لكن قد كل بعض غير عند الذي التي الذين
        و ف ب ل ك يا شكرا السلام عليكم مرحبا اهلا أهلا من فضلك لو""".split()
    ),
}

# Inflectional endings a stemmer may leave on a word ("ouvrent"), per language: a known stem plus one
# of these is the same word.
ENDINGS: dict[str, frozenset[str]] = {
    "en": frozenset("s es ed d ing ings er ers ly".split()),
    "fr": frozenset("e es s x ent ez ons ais ait aient er ee ees ant ions iez re ra ront u us ue ues".split()),
}

# A section heading that opens with the first kind of word ("Still refused?", "Toujours rien ?"), or
# with the second and holds the first ("If it still fails"), announces a last resort.
FALLBACK_WORDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "en": (frozenset("still persists keeps continues".split()), frozenset("if when".split())),
    "fr": (frozenset("toujours encore persiste continue".split()), frozenset("si quand".split())),
}

GENERAL_FREQUENCY_WEIGHT = 0.5  # per word, in `detect_language`, for one much more common in that language

# Words that only one language uses often: they weigh more than shared function words when guessing.
LANGUAGE_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset("the is my i to and of not what how why can do does did with this it your have".split()),
    "fr": frozenset("le la les je mon ma mes pas ne est et de du des une un comment pourquoi avec pour quand jai cest "
                    "svp".split()),
}


def _folding_table() -> dict[int, str]:
    table = {}
    for code in range(0xC0, 0x250):  # Latin-1 and Latin Extended-A/B: the accented letters of most locales
        char = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", char.lower()) if not unicodedata.combining(c))
        if base != char:
            table[code] = base
    table.update({ord("œ"): "oe", ord("æ"): "ae", ord("ß"): "ss"})
    return table


_FOLD = _folding_table()


def fold(text: str) -> str:
    """Lowercase and strip accents ("Réinitialisé" -> "reinitialise")."""
    text = text.lower()
    if text.isascii():
        return text
    text = text.translate(_FOLD)
    if text.isascii():
        return text
    return strip_accents(text)  # accents on letters outside the table


# The lists as `words` reads a message: lowercase, without accents (Arabic hamza seats included).
STOP_WORDS = {language: frozenset(fold(word) for word in listed) for language, listed in STOP_WORDS.items()}


def words(text: str) -> list[str]:
    """Folded word tokens; elisions (l'appli) and English negations (can't) are split first."""
    text = text.translate(_APOSTROPHES).lower()
    for contraction, expanded in _ENGLISH_NEGATIONS.items():
        text = text.replace(contraction, expanded)
    text = text.replace("n't", " not")
    tokens = WORD_RE.findall(fold(text))  # letters and digits of any script, with their vowel signs
    if any(t in _GLUED_NEGATIONS for t in tokens):
        tokens = [part for t in tokens for part in _GLUED_NEGATIONS.get(t, (t,))]
    return tokens


# Words of thanks or agreement: a message made only of these and grammar words closes an exchange
# ("merci", "ok thanks") rather than asking something (see `Answer.small_talk`).
# Greetings and thanks in languages staff write in besides the portal's own (Arabic, Swahili, Portuguese,
# Spanish), and chat greetings ("allo", "coucou"): in any locale, a message made only of these is small
# talk, not a question no article covers.
_GREETINGS_ANY = "مرحبا اهلا وسهلا السلام وعليكم سلام عليكم صباح مساء الخير النور habari jambo hujambo mambo salama " \
                 "shikamoo hola ola oi salam salaam كيف حالك allo coucou"
_THANKS_ANY = "شكرا مشكور جزيلا shukran asante asanteni sana gracias obrigado obrigada"
THANKS_WORDS = frozenset(("thanks thank thx ty ok okay great perfect cool merci mrc dacord daccord parfait super "
                          "entendu " + _THANKS_ANY).split())
SMALL_TALK_ANY = frozenset((_GREETINGS_ANY + " " + _THANKS_ANY).split())
# Emoji that say thanks or agreement after an answer on WhatsApp ("👍", "🙏🏽"): a message of these alone
# closes the exchange like "ok thanks" (skin tones and variation selectors follow them, so a
# message is looked through for them).
THANKS_SIGNS = ("👍", "🙏", "👌", "✅", "😊", "🙂", "☺", "❤", "♥", "💯", "👏", "🤝", "🥰", "😀", "😃", "😁")

# A short message after an answer that only says whether it worked: "it worked, thanks", "ça marche",
# "no it didn't work", "toujours pas". Said alone, these words are about the last answer, not a new
# question (with anything else, "the tablet works offline?", they are a question like any other).
_OUTCOME_WORDS = ("work works worked working solved resolved fixed sorted marche marché fonctionne fonctionné "
                  "résolu résolue réglé réglée passe passé")
_NOT_WORDS = "not no never nothing still ne pas jamais rien toujours non plus"
# A message that opens with one of these asks something ("how does it work", "est-ce résolu").
_QUESTION_WORDS = ("how what when why where which who is are was were does do did can could will would should shall "
                   "has have comment quand pourquoi ou où quel quelle quels quelles qui que quoi est combien peut")


def said_outcome(tokens: list[str], locale: str, question: str) -> str | None:
    """"solved" when a message only says the answer worked, "unsolved" when it only says it did not
    (a negation with the same words), else None. `tokens` as `words` gives them (folded)."""
    if question.rstrip().endswith("?") or not tokens or tokens[0] in _QUESTION:
        return None
    ignorable = stop_words(locale) | THANKS_WORDS | _NOT
    said = [t for t in tokens if t not in ignorable]
    if not said or any(t not in _OUTCOME for t in said):
        return None
    return "unsolved" if any(t in _NOT for t in tokens) else "solved"


# Elided articles and pronouns that chat glues to the next word ("jai", "lacte", "narrive", "quil").
GLUED_ELISIONS: dict[str, tuple[str, ...]] = {"fr": ("qu", "c", "d", "j", "l", "m", "n", "s", "t")}
# The software's own messages are quoted in English whatever the language of the question ("c'est marqué
# failed to send"): a common English word is kept whole, not read as an elision ("send" is not "s end").
QUOTED_LANGUAGE, QUOTED_WORD = "en", 4.0  # the language, and the Zipf frequency from which a word is common


def expand_chat(tokens: list[str], locale: str) -> list[str]:
    """Write out the chat abbreviations of `locale` in a question's tokens ("pb" -> "probleme"), and
    split elisions typed without their apostrophe ("lacte" -> "l acte") where what follows is a word."""
    language = base_language(locale)
    table = CHAT_WORDS.get(language, {})
    elisions = GLUED_ELISIONS.get(language, ())
    expanded = []
    for position, token in enumerate(tokens):
        written = table.get(token)
        if written:
            parts = written.split()
            if parts[0] == token and tokens[position + 1:position + len(parts)] == parts[1:]:
                expanded.append(token)  # already written out: "c est" is "c'est", not "c" for "c est"
            else:
                expanded.extend(parts)
            continue
        if elisions and len(token) > 2 and not vocabulary.is_word(token, language) \
                and not vocabulary.is_word(token, QUOTED_LANGUAGE, QUOTED_WORD):
            head = next((e for e in elisions
                         if token.startswith(e) and vocabulary.is_word(token[len(e):], language)), None)
            if head:
                expanded.extend((head, token[len(head):]))
                continue
        expanded.append(token)
    return expanded


def base_language(locale: str) -> str:
    return locale.replace("-", "_").split("_")[0].lower()


def stop_words(locale: str) -> frozenset[str]:
    return STOP_WORDS.get(base_language(locale), frozenset())


@lru_cache(maxsize=16)
def _stemmer(locale: str):
    algorithm = STEMMERS.get(base_language(locale))
    if algorithm and algorithm in snowballstemmer.algorithms():
        return snowballstemmer.stemmer(algorithm)
    return None


_stem_cache: dict[tuple[str, str], str] = {}


def stem(word: str, locale: str) -> str:
    """The folded snowball stem of a folded word in `locale` (the word itself where no stemmer exists).

    Snowball's rules expect the accents ("désactivée" -> "désactiv", but "desactivee" -> "desactive"),
    so the word's usual accented spelling is put back first; the result depends on the folded word
    only, so a question typed without accents and an article written with them always meet.
    """
    key = (locale, word)
    cached = _stem_cache.get(key)
    if cached is None:
        language = base_language(locale)
        stemmer = _stemmer(language)
        if stemmer and not word.isdigit():
            cached = fold(stemmer.stemWord(vocabulary.accented(word, language)))
        else:
            cached = word
        if len(_stem_cache) < 500_000:
            _stem_cache[key] = cached
    return cached


def plural_key(word: str) -> str:
    """A light, language-neutral singular used to match lexicon phrases ("passwords" ~ "password")."""
    if len(word) > 3 and (word[-1] == "s" or word[-1] == "x") and word[-2] != "s":
        return word[:-1]
    return word


def detect_language(text: str, locales: list[str], vocabularies: dict[str, set[str]] | None = None,
                    hint: str | None = None) -> tuple[str, float]:
    """Guess which of `locales` `text` is written in; return (locale, certainty in [0, 1]).

    Scores stop words and marker words of each language, words far more common in one language than
    the others (general word lists), accented letters and elisions typical of French, and (when
    given) how many words appear in each locale's own article vocabulary. Mixed
    messages ("mon OTP n'arrive pas") go to the language of their grammar words. Ties go to `hint`,
    then to the first locale (the caller passes the tenant default first).
    """
    if len(locales) == 1:
        return locales[0], 1.0
    tokens = words(text)
    scores = {locale: 0.0 for locale in locales}
    for locale in locales:
        lang = base_language(locale)
        stops = stop_words(lang)
        markers = LANGUAGE_MARKERS.get(lang, frozenset())
        known = (vocabularies or {}).get(locale, set())
        chat = CHAT_WORDS.get(lang, {})
        for token in tokens:
            if token in markers:
                scores[locale] += 1.5
            elif token in stops or (len(token) > 1 and token in chat):
                scores[locale] += 1.0
            if known and len(token) > 2 and token in known:
                scores[locale] += 0.4
    # What the language's word list says: a word much more common in one language than in the others
    # counts for that one (works for any language the list covers, not only those with stop words here).
    languages = {locale: base_language(locale) for locale in locales}
    for token in tokens:
        if len(token) < 2 or token.isdigit():
            continue
        frequency = {locale: vocabulary.zipf(token, language) for locale, language in languages.items()}
        for locale in locales:
            lead = frequency[locale] - max(f for other, f in frequency.items() if other != locale)
            if lead > 0:
                scores[locale] += GENERAL_FREQUENCY_WEIGHT * min(1.0, lead / 2)
    lowered = text.lower()
    french_signs = len(re.findall(r"[éèêàùçôîœ]", lowered)) + 2 * len(re.findall(r"\b[ldjnmtsc]['’]\w", lowered))
    english_signs = 2 * len(re.findall(r"\w['’](t|s|m|re|ve|ll)\b", lowered))
    for locale in locales:
        if base_language(locale) == "fr":
            scores[locale] += min(french_signs, 6) * 0.8
        elif base_language(locale) == "en":
            scores[locale] += min(english_signs, 4) * 0.8
    ranked = sorted(locales, key=lambda loc: (scores[loc], loc == hint), reverse=True)
    best, second = scores[ranked[0]], scores[ranked[1]]
    if best == second:
        choice = hint if hint in locales else locales[0]
        return choice, 0.0
    return ranked[0], (best - second) / (best + 1.0)


_OUTCOME = frozenset(fold(word) for word in _OUTCOME_WORDS.split())
_NOT = frozenset(fold(word) for word in _NOT_WORDS.split())
_QUESTION = frozenset(fold(word) for word in _QUESTION_WORDS.split())
