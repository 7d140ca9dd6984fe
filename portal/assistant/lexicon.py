"""A general lexicon of CRVS support vocabulary: synonyms, abbreviations and chat spellings, en and fr.

Each concept lists the ways people write it, in any language. When a phrase of a concept appears in an
article or in a question, the concept's token (`~password`) is added next to the words themselves, so
"mdp", "pwd" and "mot de passe" meet although they share no letter. The concepts describe the domain
(OpenCRVS support in general), not any particular set of articles or questions.
"""
from __future__ import annotations

from portal.assistant.text import plural_key, words

CONCEPTS: dict[str, tuple[str, ...]] = {
    "password": ("password", "passwd", "pwd", "pswd", "pass word", "passcode", "mot de passe", "mdp", "motdepasse",
                 "mot-de-passe", "mot de pass", "mots de passe"),
    "username": ("username", "user name", "user id", "userid", "login name", "login id", "identifiant",
                 "nom d'utilisateur", "nom utilisateur", "nom de connexion", "id utilisateur"),
    "login": ("log in", "login", "logged in", "log on", "logon", "sign in", "signin", "signing in", "logging in",
              "connexion", "connecter", "se connecter", "me connecter", "connecte", "authentification",
              "acceder", "acces", "access", "enter the app", "entrer dans l'application"),
    "otp": ("otp", "verification code", "verify code", "one time password", "one-time code", "2fa", "two factor",
            "sms code", "code sms", "6 digit code", "6-digit code", "six digit code", "code a 6 chiffres",
            "code de verification", "code de validation", "code de confirmation", "code a six chiffres",
            "code recu par sms", "verify your account", "verification"),
    "pin": ("pin", "pin code", "code pin", "4 digit", "4-digit", "four digit", "4 chiffres", "quatre chiffres",
            "screen lock", "lock screen", "ecran de verrouillage", "code secret"),
    "security_question": ("security question", "secret question", "security answer", "question de securite",
                          "questions secretes", "question secrete", "reponse de securite"),
    "forgot": ("forgot", "forgotten", "forget", "can not remember", "dont remember", "lost", "oublie", "oublier",
               "oubli", "perdu", "me souviens plus", "rappelle plus", "souviens pas", "souvenez plus", "souvient plus",
               "rappelez plus", "plus en tete"),
    "reset": ("reset", "recover", "recovery", "restore", "renew", "reinitialiser", "reinitialisation", "reinitialise",
              "recuperer", "recuperation", "retrouver", "renouveler", "new one", "nouveau"),
    "receive": ("receive", "received", "arrive", "arrived", "come", "coming", "came", "reach", "delivered",
                "recu", "recois", "recevoir", "reception", "arrive pas", "parvenu", "parvient", "venu", "vient"),
    # Negations carry the meaning here ("not received" is the opposite of "received"), so they are phrases.
    "not_received": ("not received", "never received", "not receive", "did not receive", "did not get", "didnt get",
                     "never got", "not getting", "never arrive", "never arrived", "never arrives", "not arrive",
                     "not arriving", "never comes", "never came", "not coming", "does not come", "no sms", "no code",
                     "no message", "pas recu", "jamais recu", "rien recu", "ne recois pas", "recois pas",
                     "recoit pas", "recevons pas", "arrive pas", "arrive jamais", "arrivent pas", "pas arrive",
                     "vient pas", "pas de code", "pas de sms", "pas de message", "toujours rien"),
    "not_working": ("not working", "doesnt work", "does not work", "dont work", "broken", "fail", "failed", "failure",
                    "error", "problem", "issue", "bug", "unable", "can not", "impossible", "marche pas",
                    "fonctionne pas", "ne marche", "ne fonctionne", "erreur", "echec", "echoue", "probleme",
                    "bloque", "panne", "souci"),
    "expired": ("expired", "expire", "expiry", "timed out", "timeout", "too late", "no longer valid", "old code",
                "perime", "plus valide", "trop tard"),
    "wrong": ("wrong", "incorrect", "invalid", "not accepted", "refused", "rejected", "not valid", "bad", "mistyped",
              "faux", "fausse", "errone", "erronee", "invalide", "mauvais", "mauvaise", "refuse", "pas accepte",
              "non valide"),
    "locked": ("locked", "lock", "locked out", "blocked", "block", "stuck", "frozen", "bloque", "bloquee", "blocage",
               "verrouille", "verrouillage", "verrouillee", "coince", "fige"),
    "deactivated": ("deactivated", "deactivate", "disabled", "suspended", "inactive", "desactive", "desactivation",
                    "suspendu", "inactif", "compte desactive"),
    "too_many": ("too many", "trop de", "many attempts", "plusieurs tentatives", "attempts", "tentatives", "tries",
                 "essais"),
    "first_login": ("first login", "first time", "new account", "new user", "invitation", "temporary password",
                    "premiere connexion", "premiere fois", "nouveau compte", "mot de passe temporaire",
                    "mot de passe provisoire"),
    "account": ("account", "user account", "profile", "compte", "compte utilisateur", "profil"),
    "administrator": ("administrator", "admin", "sysadmin", "system admin", "system administrator", "administrateur",
                      "administrateur systeme", "natl sysadmin", "it person", "informaticien"),
    "certificate": ("certificate", "cert", "certif", "certificat", "acte", "extrait", "birth certificate",
                    "death certificate", "acte de naissance", "acte de deces", "copie"),
    "print": ("print", "printing", "printed", "printer", "reprint", "imprimer", "impression", "imprimante",
              "imprime", "reimprimer", "reimpression"),
    "pdf_preview": ("pdf", "preview", "apercu", "previsualisation", "document", "fichier"),
    "blank": ("blank", "empty", "white page", "white screen", "nothing shows", "vide", "blanc", "blanche",
              "page blanche", "ecran blanc", "rien ne s'affiche"),
    "signature": ("signature", "signed", "sign", "signataire", "signe", "tampon", "stamp", "cachet"),
    "collect": ("collect", "collector", "pick up", "pickup", "issue", "hand over", "give out", "retirer", "retrait",
                "delivrer", "delivrance", "remettre", "remise", "recuperer le certificat"),
    "identity_document": ("id card", "national id", "identity card", "passport", "identity document", "no id",
                          "piece d'identite", "carte d'identite", "cni", "passeport", "papiers", "sans piece"),
    "registration": ("register", "registration", "registered", "registrar", "regist", "registr", "enregistrer",
                     "enregistrement", "enregistre", "inscription", "inscrire", "inscrit", "officier d'etat civil",
                     "etat civil", "civil registration"),
    "declaration": ("declaration", "declare", "declared", "application", "form", "submission", "declarer",
                    "declaree", "formulaire", "dossier"),
    "birth": ("birth", "born", "newborn", "baby", "child", "naissance", "nouveau-ne", "bebe", "enfant"),
    "death": ("death", "died", "dead", "deceased", "passed away", "deces", "decede", "decedee", "mort", "defunt"),
    "late": ("late", "delayed", "overdue", "after the deadline", "out of time", "retard", "en retard", "tardif",
             "tardive", "hors delai", "apres le delai"),
    "deadline": ("deadline", "time limit", "how many days", "within", "delai", "delais", "combien de jours",
                 "date limite"),
    "fee": ("fee", "fees", "cost", "costs", "price", "pay", "payment", "paid", "charge", "how much", "money", "penalty",
            "fine", "frais", "cout", "coute", "prix", "payer", "paiement", "payant", "combien", "tarif", "amende",
            "gratuit", "free"),
    "offline": ("offline", "off line", "no network", "no internet", "no connection", "no signal", "no data",
                "without internet", "hors ligne", "hors-ligne", "hors connexion", "sans internet", "sans reseau",
                "pas de reseau", "pas de connexion", "pas d'internet", "reseau"),
    "send": ("send", "sent", "sending", "submit", "submitted", "upload", "sync", "synchronise", "synchronize",
             "envoyer", "envoi", "envoye", "envoyee", "soumettre", "soumis", "synchroniser", "synchronisation",
             "transmettre"),
    "outbox": ("outbox", "out box", "pending", "waiting to send", "boite d'envoi", "boite d envoi", "en attente",
               "file d'attente", "non envoye"),
    "download": ("download", "downloaded", "retrieve", "telecharger", "telechargement", "telecharge"),
    "assign": ("assign", "assigned", "unassign", "assignment", "attribuer", "attribue", "assigner", "assigne",
               "desassigner", "affecter", "affecte", "retirer l'attribution"),
    "colleague": ("colleague", "coworker", "co-worker", "another user", "other user", "collegue", "autre agent",
                  "autre utilisateur"),
    "search": ("search", "find", "look up", "lookup", "locate", "chercher", "rechercher", "recherche", "trouver",
               "retrouve", "introuvable", "cannot find", "not found", "trouve pas"),
    "record": ("record", "records", "file", "case", "entry", "dossier", "fiche", "acte", "enregistrement"),
    "duplicate": ("duplicate", "duplicated", "double", "twins", "twin", "same person", "doublon", "doublons",
                  "jumeaux", "jumelle", "jumelles", "deja enregistre"),
    "correction": ("correct", "correction", "fix", "amend", "amendment", "modify", "edit", "change", "mistake",
                   "typo", "corriger", "correction", "modifier", "modification", "rectifier", "rectification",
                   "erreur sur", "faute"),
    "requires_updates": ("requires updates", "require update", "sent back", "returned", "rejected", "send back",
                         "incomplete", "necessite des mises a jour", "mise a jour requise", "renvoye", "renvoyee",
                         "retourne", "rejete", "rejetee", "a corriger"),
    "health_facility": ("health facility", "hospital", "clinic", "health centre", "health center", "maternity",
                        "dispensary", "etablissement de sante", "hopital", "clinique", "centre de sante",
                        "maternite", "dispensaire", "formation sanitaire"),
    "place": ("village", "location", "locality", "address", "place", "district", "province", "localite", "lieu",
              "adresse", "quartier", "commune"),
    "missing_from_list": ("missing", "not in the list", "not listed", "not on the list", "not available", "absent",
                          "manquant", "manque", "pas dans la liste", "introuvable dans la liste", "n'apparait pas",
                          "pas disponible"),
    "dropdown": ("drop down", "dropdown", "drop-down", "list", "menu", "select", "liste", "liste deroulante",
                 "menu deroulant"),
    "date_of_birth": ("date of birth", "dob", "birthdate", "birth date", "date de naissance", "ddn",
                      "ne le", "annee de naissance"),
    "unknown": ("unknown", "do not know", "dont know", "not known", "no idea", "inconnu", "inconnue", "ne sait pas",
                "ne connait pas", "pas connu"),
    "age": ("age", "years old", "how old", "ans", "age du"),
    "parent": ("parent", "parents", "mother", "father", "mom", "mum", "dad", "mere", "pere", "maman", "papa"),
    "informant": ("informant", "declarant", "applicant", "family", "informateur", "demandeur", "famille"),
    "tracking_id": ("tracking id", "tracking number", "tracking code", "tracking", "reference number", "numero de suivi",
                    "id de suivi", "code de suivi", "numero de reference", "brn", "drn",
                    "registration number", "numero d'enregistrement"),
    "message": ("message", "sms", "text", "text message", "notification", "texto", "notif"),
    "email": ("email", "e-mail", "mail", "courriel", "adresse email", "adresse mail", "inbox", "boite mail"),
    "phone": ("phone", "mobile", "cell", "cellphone", "smartphone", "phone number", "telephone", "portable", "tel",
              "numero de telephone", "numero", "sim", "puce"),
    "device": ("device", "tablet", "laptop", "computer", "pc", "android", "appareil", "tablette", "ordinateur",
               "terminal"),
    "browser": ("browser", "chrome", "firefox", "navigateur", "cache", "clear data", "effacer les donnees"),
    "slow": ("slow", "loading", "takes long", "taking forever", "spinning", "hangs", "lent", "lente", "lenteur",
             "chargement", "charge pas", "tourne", "rame"),
    "app": ("app", "application", "system", "opencrvs", "site", "website", "platform", "appli", "logiciel",
            "systeme", "plateforme"),
    "language": ("language", "english", "french", "translate", "langue", "anglais", "francais", "traduction"),
    "dashboard": ("dashboard", "report", "reports", "statistics", "stats", "figures", "numbers", "performance",
                  "analytics", "tableau de bord", "rapport", "rapports", "statistiques", "chiffres", "indicateurs"),
    "completeness": ("completeness", "timeliness", "completion rate", "completude", "exhaustivite", "ponctualite",
                     "taux"),
    "support": ("support", "helpdesk", "help desk", "help", "contact", "assistance", "aide", "service client",
                "joindre", "reach you", "call", "appeler"),
    "hours": ("opening hours", "open", "hours", "working hours", "closed", "opening days", "horaires", "ouvert",
              "ouverture", "ferme", "heures", "jours d'ouverture"),
    "holiday": ("holiday", "public holiday", "bank holiday", "vacation", "christmas", "ferie", "jour ferie",
                "jours feries", "vacances", "noel", "conge"),
    "create_user": ("create user", "add user", "new user", "create account", "add a user", "creer un utilisateur",
                    "ajouter un utilisateur", "nouvel utilisateur", "creer un compte", "creer le compte"),
    "escalate": ("escalate", "escalation", "technical team", "level 2", "l2", "escalader", "escalade",
                 "remonter", "equipe technique", "niveau 2"),
    "team": ("team", "office", "staff", "equipe", "bureau", "personnel", "agents"),
    "update_contact": ("change my number", "new number", "new phone", "update my email", "changer mon numero",
                       "nouveau numero", "mettre a jour mon email", "changer de numero"),
    "approve": ("approve", "approval", "approved", "validate", "validation", "validated", "approuver",
                "approbation", "valider", "valide"),
    "switch_device": ("switch device", "share device", "shared device", "another phone", "new phone", "other device",
                      "changer d'appareil", "partager", "partage", "autre telephone", "nouvel appareil",
                      "autre appareil"),
}


def _form_keys(form: str) -> tuple[str, ...]:
    return tuple(plural_key(w) for w in words(form))


class Lexicon:
    """Finds concept phrases in a token sequence (longest match first)."""

    def __init__(self, concepts: dict[str, tuple[str, ...]] = CONCEPTS):
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self.surface_words: set[str] = set()
        for concept, forms in concepts.items():
            variants = set()
            for form in forms:
                keys = _form_keys(form)
                if keys:
                    variants.add(keys)
                    if len(keys) > 1:  # "motdepasse", "loginname": phrases typed glued together
                        variants.add((plural_key("".join(keys)),))
            for keys in variants:
                self.by_first.setdefault(keys[0], []).append((keys, concept))
                self.surface_words.update(keys)
        for entries in self.by_first.values():
            entries.sort(key=lambda e: len(e[0]), reverse=True)

    def match(self, tokens: list[str]) -> list[tuple[int, int, str]]:
        """(start, end, concept) for each concept phrase found in folded `tokens`."""
        keys = [plural_key(t) for t in tokens]
        found = []
        by_first = self.by_first
        for i, key in enumerate(keys):
            entries = by_first.get(key)
            if not entries:
                continue
            for phrase, concept in entries:
                n = len(phrase)
                if tuple(keys[i:i + n]) == phrase:
                    found.append((i, i + n, concept))
        return found

    def is_known(self, word: str) -> bool:
        return plural_key(word) in self.surface_words


LEXICON = Lexicon()
