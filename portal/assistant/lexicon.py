"""A general lexicon of CRVS support vocabulary: synonyms, abbreviations and chat spellings, en and fr.

Each concept lists the ways people write it, in any language. When a phrase of a concept appears in an
article or in a question, the concept's token (`~password`) is added next to the words themselves, so
"mdp", "pwd" and "mot de passe" meet although they share no letter. The concepts describe the domain
(OpenCRVS support in general), not any particular set of articles or questions.
"""
from __future__ import annotations

import threading

from portal.assistant.text import base_language, plural_key, stem, stop_words, words

CONCEPTS: dict[str, tuple[str, ...]] = {
    # -- signing in -----------------------------------------------------------------------------------
    "password": ("password", "passwd", "pwd", "pswd", "pass word", "passcode", "mot de passe", "mdp", "motdepasse",
                 "mot-de-passe", "mot de pass", "mots de passe", "credentials", "login details",
                 "login information", "access details", "codes d'acces", "code d'acces", "parametres de connexion"),
    "username": ("username", "user name", "user id", "userid", "login name", "login id", "account name",
                 "identifiant", "nom d'utilisateur", "nom utilisateur", "nom de connexion", "id utilisateur",
                 "nom de compte", "nom d'usager", "identifiant de connexion", "pseudo", "credentials",
                 "login details", "identifiants", "codes d'acces"),
    "login": ("log in", "login", "logged in", "log on", "logon", "log into", "sign in", "signin", "signing in",
              "logging in", "sign on", "get in", "get into", "enter the app", "enter the system",
              "access the system", "access the app", "open my account", "open a session", "connexion", "connecter",
              "se connecter", "me connecter", "connecte", "authentification", "s'identifier", "m'identifier",
              "acceder", "acces", "access", "entrer dans l'application", "entrer dans le systeme",
              "rentrer dans l'application", "acceder au systeme", "ouvrir ma session", "ouvrir une session",
              "session"),
    "otp": ("otp", "verification code", "verify code", "one time password", "one-time code", "2fa", "two factor",
            "sms code", "code sms", "code by sms", "login code", "security code", "confirmation code",
            "6 digit code", "6-digit code", "six digit code", "6 numbers", "six numbers", "6 digits",
            "code a 6 chiffres", "code de 6 chiffres", "code a six chiffres", "6 chiffres", "six chiffres",
            "code de verification", "code de validation", "code de confirmation", "code de securite",
            "code de connexion", "code a usage unique", "code otp", "code recu par sms", "verify your account"),
    "pin": ("pin", "pin code", "code pin", "4 digit", "4-digit", "four digit", "4 digits", "4 numbers",
            "four numbers", "4 number code", "unlock code", "lock code", "4 chiffres", "quatre chiffres",
            "code a 4 chiffres", "code de 4 chiffres", "code de deverrouillage", "code de verrouillage",
            "screen lock", "lock screen", "ecran de verrouillage", "code secret"),
    "security_question": ("security question", "secret question", "security answer", "secret answer",
                          "question de securite", "questions secretes", "question secrete", "reponse de securite",
                          "reponses secretes", "reponse secrete"),
    "forgot": ("forgot", "forgotten", "forget", "can not remember", "do not remember", "no longer remember",
               "can not recall", "do not recall", "lost", "oublie", "oublier", "oubli", "perdu", "me souviens plus",
               "me souviens pas", "rappelle plus", "rappelle pas", "souviens pas", "souvenez plus", "souvient plus",
               "rappelez plus", "plus en tete", "sais plus", "connais plus"),
    # Said with a negation, it is "forgot" (see NEGATED): "I can't remember", "je ne m'en souviens plus".
    "remember": ("remember", "recall", "souvenir", "souviens", "souvient", "souvenez"),
    "reset": ("reset", "recover", "recovery", "restore", "renew", "recreate", "new password", "reinitialiser",
              "reinitialisation", "reinitialise", "reinit", "recuperer", "recuperation", "retrouver", "renouveler",
              "restaurer", "remettre a zero", "remise a zero", "nouveau mot de passe"),
    "too_many": ("several times", "many times", "multiple times", "again and again", "plusieurs fois",
                 "trop de fois", "plein de fois", "too many", "trop de", "many attempts", "plusieurs tentatives",
                 "attempts", "tentatives", "tries", "essais", "plusieurs essais"),
    "locked": ("locked", "lock", "locked out", "locked me out", "blocked", "block", "stuck", "frozen", "bloque",
               "bloquee", "blocage", "verrouille", "verrouillage", "verrouillee", "coince", "fige"),
    "deactivated": ("reactivate", "reactivation", "reactiver", "reactive", "deactivated", "deactivate", "disabled",
                    "suspended", "inactive", "switched off", "turned off", "account closed", "desactive",
                    "desactivation", "suspendu", "inactif", "compte desactive", "compte ferme", "plus actif"),
    "first_login": ("first login", "first time", "new account", "new user", "new staff", "new employee",
                    "new agent", "just joined", "newly recruited", "never logged in", "first day", "onboarding",
                    "invitation", "invite", "welcome email", "temporary password", "premiere connexion",
                    "premiere fois", "nouveau compte", "nouvel agent", "nouvelle recrue", "nouveau collegue",
                    "jamais connecte", "premier acces", "mot de passe temporaire", "mot de passe provisoire"),
    "account": ("account", "user account", "profile", "compte", "compte utilisateur", "profil"),
    "administrator": ("administrator", "admin", "sysadmin", "sys admin", "system admin", "system administrator",
                      "it admin", "national admin", "administrateur", "administrateur systeme", "admin systeme",
                      "administrateur du systeme", "administrateur national", "natl sysadmin", "it person",
                      "informaticien", "responsable informatique"),
    "create_user": ("create user", "add user", "new user", "create account", "add a user", "creer un utilisateur",
                    "ajouter un utilisateur", "nouvel utilisateur", "creer un compte", "creer le compte"),
    "update_contact": ("change my number", "new number", "new phone number", "update my number", "change my email",
                       "update my email", "new email", "changer mon numero", "nouveau numero", "changer de numero",
                       "modifier mon numero", "mettre a jour mon email", "changer mon email", "changer mon mail",
                       "changer de puce", "new sim", "nouvelle puce"),
    # -- how a problem is described ---------------------------------------------------------------------
    "receive": ("receive", "received", "arrive", "arrived", "come", "coming", "came", "reach", "delivered", "recu",
                "recois", "recevoir", "reception", "parvenu", "parvient", "obtenir"),
    # Negations carry the meaning here ("not received" is the opposite of "received"), so they are phrases.
    "not_received": ("not received", "never received", "not receive", "did not receive", "did not get", "never got",
                     "not getting any", "never arrive", "never arrived", "never arrives", "not arrive",
                     "not arriving", "never comes", "never came", "not coming", "does not come", "no sms",
                     "no code", "no message", "pas recu", "jamais recu", "rien recu", "ne recois pas", "recois pas",
                     "recoit pas", "recevons pas", "arrive pas", "arrive jamais", "arrivent pas", "pas arrive",
                     "vient pas", "pas de code", "pas de sms", "pas de message", "toujours rien"),
    "not_working": ("nothing happens", "rien ne se passe", "ne se passe rien", "not working", "does not work",
                    "do not work", "broken", "fail", "failed", "failure", "error", "problem", "issue", "bug",
                    "glitch", "crash", "crashed", "unable", "can not", "impossible", "marche pas", "fonctionne pas",
                    "ne marche", "ne fonctionne", "erreur", "echec", "echoue", "probleme", "bloque", "panne",
                    "souci", "plante", "beug", "bugue", "galere"),
    "works": ("works", "working", "worked", "function", "functioning", "marche", "marcher", "fonctionne",
              "fonctionner", "fonctionnent", "marchent"),
    "appear": ("appear", "appears", "show", "shows", "showing", "shown", "display", "displayed", "visible",
               "apparait", "apparaissent", "apparaitre", "affiche", "afficher", "s'affiche", "voit", "vois"),
    "accept": ("accept", "accepted", "accepts", "accepte", "acceptee", "accepter", "prend", "valide"),
    "weak_pin": ("sequence", "consecutive", "in a row", "same digit", "same digits", "same number", "repeated",
                 "repeating", "easy to guess", "too simple", "suite", "qui se suivent", "consecutifs", "identiques",
                 "repetes", "meme chiffre", "memes chiffres", "facile a deviner", "trop simple"),
    "not_sent": ("unsent", "not sent", "failed to send", "fails to send", "will not send", "wont go",
                 "echec de l'envoi", "echec d'envoi", "non envoye", "pas envoye", "pas parti", "part pas",
                 "partent pas"),
    "in_advance": ("in advance", "ahead of time", "beforehand", "before the family comes", "a l'avance",
                   "en avance", "d'avance", "avant que la famille"),
    "opens": ("open", "opens", "opening", "load", "loads", "ouvrir", "ouvre", "s'ouvre", "ouvrent", "charge",
              "charger"),
    "not_opening": ("won't open", "will not open", "does not open", "doesn't open", "can not open", "not opening",
                    "not loading", "ne s'ouvre pas", "s'ouvre pas", "ouvre pas", "n'ouvre pas", "charge pas",
                    "ne charge pas"),
    "data_loss": ("lose my work", "lost my work", "lost my data", "lose data", "data gone", "disappeared",
                  "vanished", "deleted", "erased", "wiped", "perdre mes donnees", "perdu mes donnees",
                  "perdu mon travail", "disparu", "disparue", "disparus", "efface", "effacee", "supprime",
                  "supprimee"),
    "birth_notification": ("birth notification", "notification of birth", "delivery record",
                           "bulletin de naissance", "certificat d'accouchement", "avis de naissance",
                           "fiche de naissance", "notification de naissance"),
    "community_leader": ("community leader", "village chief", "village head", "chief", "headman", "witness",
                         "chef de village", "chef de quartier", "chef coutumier", "notable", "temoin",
                         "leader communautaire"),
    "settings": ("settings", "setting", "preferences", "parametres", "reglages", "reglage"),
    "install": ("install", "reinstall", "uninstall", "installed", "home screen", "installer", "desinstaller",
                "reinstaller", "installation", "ecran d'accueil"),
    "expired": ("expired", "expire", "expiry", "timed out", "timeout", "too late", "no longer valid", "too old",
                "old code", "perime", "plus valide", "plus valable", "trop tard", "depasse"),
    "wrong": ("wrong", "incorrect", "invalid", "not accepted", "refused", "rejected", "not valid", "not correct",
              "bad", "mistyped", "typed wrong", "typo", "faux", "fausse", "errone", "erronee", "invalide",
              "mauvais", "mauvaise", "refuse", "pas accepte", "non valide", "pas correct", "pas bon", "mal tape",
              "mal saisi", "faute de frappe", "erreur de saisie"),
    "wait_time": ("how long", "how much time", "combien de temps", "patienter"),
    "slow": ("freeze", "freezes", "freezing", "takes ages", "lag", "gele", "met du temps", "slow", "loading",
             "takes long", "takes forever", "taking forever", "spinning", "hangs", "hanging", "lagging",
             "very slow", "lent", "lente", "lenteur", "chargement", "charge pas", "tourne", "rame",
             "tourne en rond"),
    "blank": ("blank", "empty", "white page", "white screen", "all white", "nothing shows", "vide", "blanc",
              "blanche", "page blanche", "ecran blanc", "tout blanc", "rien ne s'affiche"),
    # -- devices and the app ----------------------------------------------------------------------------
    "app": ("app", "application", "system", "opencrvs", "site", "website", "platform", "appli", "logiciel",
            "systeme", "plateforme"),
    "update_app": ("new version", "update the app", "refresh", "reload", "upgrade", "nouvelle version",
                   "mise a jour de l'application", "actualiser", "rafraichir", "recharger"),
    "device": ("device", "tablet", "laptop", "computer", "desktop", "pc", "android", "appareil", "tablette",
               "ordinateur", "terminal"),
    "phone": ("phone", "mobile", "cell", "cellphone", "smartphone", "phone number", "telephone", "portable",
              "numero de telephone", "sim", "sim card", "carte sim", "puce"),
    "switch_device": ("switch device", "share device", "shared device", "another phone", "new phone", "new tablet",
                      "new laptop", "other device", "another device", "changing phone", "changer d'appareil",
                      "changer de telephone", "partager", "partage", "autre telephone", "nouveau telephone",
                      "nouvelle tablette", "nouvel appareil", "autre appareil"),
    "lost_stolen": ("stolen", "theft", "robbed", "lost my phone", "lost phone", "phone lost", "vole", "vol",
                    "perdu mon telephone", "telephone perdu", "perdu mon tel"),
    "browser": ("vider le cache", "clear the cache", "clear cache", "pop-up", "pop up", "popup", "pop-ups",
                "fenetre contextuelle", "browser", "chrome", "firefox", "edge", "navigateur", "cache", "clear data",
                "incognito", "private mode", "navigation privee", "effacer les donnees"),
    "storage": ("storage", "memory", "phone is full", "memory full", "espace de stockage", "memoire pleine",
                "free space", "memoire", "stockage", "espace"),
    "battery": ("battery", "battery saver", "power saving", "batterie", "economie d'energie"),
    "screenshot": ("screenshot", "screen shot", "screen capture", "print screen", "photo of the screen", "capture",
                   "capture d'ecran", "capture ecran"),
    "language": ("language", "english", "french", "translate", "translation", "langue", "anglais", "francais",
                 "traduction", "traduire"),
    "offline": ("offline", "off line", "no network", "no internet", "no connection", "no signal", "no data",
                "no coverage", "no reception", "without internet", "without connection", "hors ligne", "hors-ligne",
                "hors connexion", "sans internet", "sans reseau", "sans connexion", "pas de reseau",
                "pas de connexion", "pas d'internet", "pas de couverture", "hors couverture", "zone blanche",
                "reseau", "network", "coverage", "couverture"),
    "send": ("send", "sent", "sending", "submit", "submitted", "upload", "sync", "synchronise", "synchronize",
             "go through", "envoyer", "envoi", "envoye", "envoyee", "soumettre", "soumis", "synchroniser",
             "synchronisation", "synchro", "transmettre"),
    "outbox": ("outbox", "out box", "pending", "waiting to send", "waiting to be sent", "queue", "boite d'envoi",
               "boite d envoi", "boite de sortie", "en attente", "file d'attente", "non envoye"),
    "download": ("download", "downloaded", "retrieve", "telecharger", "telechargement", "telecharge"),
    # -- records and their workflow -----------------------------------------------------------------------
    "record": ("record", "records", "en:file", "entry", "dossier", "fiche", "acte", "enregistrement"),
    "declaration": ("declaration", "en:application", "declare", "declared", "form", "submission", "declarer",
                    "declaree", "formulaire", "dossier"),
    "registration": ("register", "registration", "registered", "regist", "registr", "enregistrer", "enregistrement",
                     "enregistre", "inscription", "inscrire", "inscrit", "etat civil", "civil registration"),
    "registrar": ("registrar", "local registrar", "civil registrar", "registration officer", "officer", "officier",
                  "officier d'etat civil", "officier de l'etat civil", "officier de l etat civil"),
    "draft": ("draft", "in progress", "not sent", "brouillon", "en cours", "non envoye", "pas envoye"),
    "assign": ("greyed out", "grayed out", "locked by", "in use by", "grise", "grisee", "grises", "pris par",
               "assign", "assigned", "unassign", "assignment", "attribuer", "attribue", "attribution", "assigner",
               "assigne", "desassigner", "desattribuer", "affecter", "affecte", "retirer l'attribution"),
    "colleague": ("colleague", "coworker", "co-worker", "another user", "other user", "another agent", "collegue",
                  "autre agent", "autre utilisateur", "quelqu'un d'autre"),
    "permission": ("not authorised", "not authorized", "permission", "rights", "authorised", "authorized", "droit",
                   "droits", "autorise", "pas le droit", "habilitation"),
    "jurisdiction": ("jurisdiction", "another district", "other district", "another office", "other office",
                     "my area", "another area", "juridiction", "autre district", "autre bureau", "autre zone",
                     "ma zone", "hors de ma zone"),
    "search": ("search", "find", "look up", "lookup", "look for", "looking for", "locate", "no results",
               "nothing found", "chercher", "cherche", "rechercher", "recherche", "trouver", "retrouve",
               "introuvable", "can not find", "not found", "trouve pas", "aucun resultat"),
    "duplicate": ("duplicate", "duplicated", "double", "twins", "twin", "same person", "same child",
                  "already exists", "already registered", "doublon", "doublons", "jumeaux", "jumelle", "jumelles",
                  "jumeau", "deja enregistre", "existe deja", "meme enfant", "meme personne"),
    "correction": ("correct", "correction", "amend", "amendment", "modify", "mistake", "misspelled", "misspelt",
                   "spelling", "wrong name", "corriger", "modifier", "modification", "rectifier", "rectification",
                   "erreur sur", "mal ecrit", "faute"),
    "requires_updates": ("requires updates", "require update", "needs update", "sent back", "returned", "rejected",
                         "send back", "incomplete", "necessite des mises a jour", "mise a jour requise", "renvoye",
                         "renvoyee", "retourne", "retournee", "rejete", "rejetee", "a corriger", "a mettre a jour"),
    "approve": ("approve", "approval", "approved", "validate", "validation", "validated", "approuver",
                "approbation", "valider", "valide"),
    "legal": ("affidavit", "jugement suppletif", "jugement declaratif", "acte de notoriete", "court order", "court",
              "judge", "judgement", "tribunal", "jugement", "decision de justice"),
    "attachment": ("photo", "picture", "scan", "attachment", "attach", "supporting document", "proof", "evidence",
                   "piece jointe", "joindre", "piece justificative", "justificatif", "preuve"),
    # -- certificates ----------------------------------------------------------------------------------------
    "certificate": ("certificate", "cert", "certif", "certificat", "acte", "extrait", "birth certificate",
                    "death certificate", "acte de naissance", "acte de deces", "certificat de naissance",
                    "certificat de deces", "extrait d'acte"),
    "copy": ("copie integrale", "certified copy", "copy", "copies", "extra copy", "second copy", "another copy",
             "copie", "duplicata", "deuxieme copie"),
    "print": ("print", "printing", "printed", "printer", "printout", "print out", "reprint", "imprimer",
              "impression", "imprimante", "imprime", "reimprimer", "reimpression", "tirage"),
    "pdf_preview": ("pdf", "preview", "apercu", "previsualisation", "document", "fichier"),
    "signature": ("signature", "signataire", "tampon", "stamp", "cachet"),
    "collect": ("collect", "collector", "collection", "pick up", "pickup", "issue", "issuance", "hand over",
                "give out", "retirer", "retrait", "delivrer", "delivrance", "remettre", "remise", "venir chercher",
                "recuperer le certificat", "recuperer l'acte"),
    "identity_document": ("id card", "national id", "identity card", "passport", "identity document", "no id",
                          "id document", "voter card", "piece d'identite", "carte d'identite", "cni", "passeport",
                          "papiers", "sans piece", "carte nationale", "carte d'electeur", "pieces d'identite"),
    # -- people and events -----------------------------------------------------------------------------------
    "birth": ("birth", "born", "newborn", "baby", "babies", "infant", "child", "kid", "naissance", "nouveau-ne",
              "nouveau ne", "nourrisson", "bebe", "enfant", "accouchement", "accouche"),
    "death": ("death", "died", "dead", "deceased", "passed away", "funeral", "burial", "deces", "decede", "decedee",
              "mort", "defunt", "enterrement", "inhumation"),
    "parent": ("parent", "parents", "mother", "father", "mom", "mum", "dad", "mere", "pere", "maman", "papa"),
    "relative": ("grandmother", "grandfather", "grandma", "grandpa", "aunt", "uncle", "sister", "brother",
                 "relative", "neighbour", "neighbor", "guardian", "grand-mere", "grand mere", "grand-pere",
                 "grand pere", "tante", "oncle", "voisin", "voisine", "tuteur", "someone else", "autre personne"),
    "informant": ("informant", "declarant", "applicant", "family", "informateur", "demandeur", "famille"),
    "date_of_birth": ("date of birth", "dob", "birthdate", "birth date", "birthday", "born on", "date de naissance",
                      "ddn", "annee de naissance", "anniversaire"),
    "unknown": ("unknown", "do not know", "not known", "no idea", "inconnu", "inconnue", "ne sait pas", "sait pas",
                "ne connait pas", "connait pas", "pas connu"),
    "age": ("age", "years old", "how old", "ans", "age du", "quel age"),
    "estimate": ("estimate", "estimated", "guess", "approximate", "approximately", "estimer", "estimation",
                 "environ", "approximatif"),
    # -- places -----------------------------------------------------------------------------------------------
    "health_facility": ("health facility", "hospital", "clinic", "health centre", "health center", "health post",
                        "maternity", "dispensary", "etablissement de sante", "hopital", "clinique",
                        "centre de sante", "poste de sante", "case de sante", "centre medical", "maternite",
                        "dispensaire", "formation sanitaire"),
    "place": ("village", "location", "locality", "address", "place of birth", "place of death", "district",
              "province", "localite", "lieu de naissance", "lieu de deces", "adresse", "quartier", "commune"),
    "missing_from_list": ("missing", "not in the list", "not listed", "not on the list", "not in the choices",
                          "not among the options", "not available", "absent", "manquant", "manque",
                          "pas dans la liste", "pas dans les choix", "absent de la liste",
                          "introuvable dans la liste", "n'apparait pas", "pas disponible"),
    "dropdown": ("drop down", "dropdown", "drop-down", "list", "menu", "select", "options", "choices", "liste",
                 "liste deroulante", "menu deroulant", "choix"),
    # -- deadlines and fees ------------------------------------------------------------------------------------
    "late": ("jugement suppletif", "jugement declaratif", "declaration tardive", "enregistrement tardif", "late",
             "delayed", "overdue", "after the deadline", "past the deadline", "out of time", "years later",
             "retard", "en retard", "tardif", "tardive", "tardivement", "hors delai", "apres le delai",
             "delai depasse"),
    "deadline": ("deadline", "time limit", "how many days", "within", "on time", "in time", "time allowed", "delai",
                 "delais", "combien de jours", "date limite", "a temps", "dans les temps", "dans les delais",
                 "how long do we have", "how long do i have", "how long do they have", "how long does the family have",
                 "how much time do we have", "how much time do i have", "until when", "jusqu'a quand",
                 "combien de temps on a", "combien de temps avons nous", "combien de temps a t on"),
    "fee": ("quittance", "recu de paiement", "timbre", "timbre fiscal", "fees receipt", "penalite", "penalites",
            "sanction", "fee", "fees", "cost", "costs", "price", "pay", "payment", "paid", "how much", "money",
            "penalty", "fine", "amount", "receipt", "frais", "combien ca coute", "combien coute", "c'est combien",
            "combien payer", "combien on paie", "combien faut il payer", "cout", "coute", "prix", "payer", "paie",
            "paye", "paiement", "payant", "tarif", "amende", "montant", "argent", "gratuit", "free"),
    # -- reports ------------------------------------------------------------------------------------------
    "dashboard": ("dashboard", "report", "reports", "statistics", "stats", "figures", "performance", "analytics",
                  "indicators", "graph", "chart", "tableau de bord", "rapport", "rapports", "statistiques",
                  "indicateurs", "graphique"),
    "completeness": ("completeness", "timeliness", "completion rate", "percentage", "rate", "completude",
                     "exhaustivite", "ponctualite", "taux", "pourcentage"),
    # -- support ------------------------------------------------------------------------------------------
    "support": ("support", "helpdesk", "help desk", "hotline", "service desk", "call center", "contact",
                "assistance", "service client", "joindre", "contacter", "reach you", "call", "appeler"),
    "ticket": ("no reply", "no response", "no answer", "nobody answered", "nobody replied", "pas de reponse",
               "sans reponse", "personne ne repond", "personne n'a repondu", "ticket", "my request", "my ticket",
               "follow up", "follow-up", "ma demande", "ma requete", "relancer"),
    "hours": ("opening hours", "open on", "closed on", "ouvert le", "ferme le", "opening times", "hours",
              "working hours", "what time", "opening days", "working days", "horaires", "ouvert", "ouverture",
              "ferme", "heures", "quelle heure", "jours d'ouverture", "jours ouvrables"),
    "holiday": ("holiday", "public holiday", "bank holiday", "vacation", "christmas", "independence day",
                "new year", "easter", "ferie", "jour ferie", "jours feries", "vacances", "noel", "conge", "fete"),
    "escalate": ("escalate", "escalation", "technical team", "level 2", "l2", "escalader", "escalade", "remonter",
                 "equipe technique", "niveau 2"),
    "team": ("team", "office", "staff", "equipe", "bureau", "personnel"),
}


# A concept that a negation nearby turns into another: "the code never reaches me", "n'arrive plus",
# "not showing". Negation words are those of every language we stem; phrases already listed in the
# negated concept ("not received") match as well.
NEGATED = {"receive": "not_received", "works": "not_working", "appear": "missing_from_list", "accept": "wrong",
           "send": "not_sent", "opens": "not_opening", "remember": "forgot"}
NEGATIONS = frozenset("not never no nothing nobody none neither nor pas jamais plus rien aucun aucune ni".split())
NEGATION_BEFORE, NEGATION_AFTER = 3, 2  # tokens: "did not really arrive", "n'arrive toujours pas"


class Lexicon:
    """Finds concept phrases in a question's or an article's tokens (every phrase that matches).

    Phrases are compared on stems of the text's language, so inflections meet ("reaches", "arrived",
    "oubliées"); the stemmed phrase tables are built once per language. A form written "en:..." or
    "fr:..." belongs to that language only.
    """

    def __init__(self, concepts: dict[str, tuple[str, ...]] = CONCEPTS):
        self.concepts = concepts
        self._tables: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {}
        self.surface_words: set[str] = set()
        for forms in concepts.values():
            for form in forms:
                self.surface_words.update(words(form.rpartition(":")[2]))
        self._plural_surface = {plural_key(w) for w in self.surface_words}

    def _table(self, language: str) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        table = self._tables.get(language)
        if table is not None:
            return table
        table = {}
        for concept, forms in self.concepts.items():
            variants = set()
            for form in forms:
                scope, _colon, phrase = form.rpartition(":")
                if scope and scope != language:
                    continue  # a form of one language only ("en:application": in French it is the app)
                keys = tuple(stem(w, language) for w in words(phrase))
                if keys:
                    variants.add(keys)
                    if len(keys) > 1:  # "motdepasse", "loginname": phrases typed glued together
                        variants.add((stem("".join(words(phrase)), language),))
            for keys in variants:
                table.setdefault(keys[0], []).append((keys, concept))
        for entries in table.values():
            entries.sort(key=lambda e: len(e[0]), reverse=True)
        self._tables[language] = table
        return table

    def match(self, tokens: list[str], locale: str, stems: list[str] | None = None) -> list[tuple[int, int, str]]:
        """(start, end, concept) for each concept phrase found in folded `tokens` written in `locale`
        (`stems`: the tokens' stems, when the caller has them already)."""
        language = base_language(locale)
        table = self._table(language)
        keys = stems if stems is not None else [stem(t, language) for t in tokens]
        found = []
        for i, key in enumerate(keys):
            entries = table.get(key)
            if not entries:
                continue
            for phrase, concept in entries:
                n = len(phrase)
                if tuple(keys[i:i + n]) == phrase:
                    found.append((i, i + n, concept))
                    negated = NEGATED.get(concept)
                    if negated and self._negated(tokens, i, i + n):
                        found.append((i, i + n, negated))
        return found

    @staticmethod
    def _negated(tokens: list[str], start: int, end: int) -> bool:
        before = tokens[max(0, start - NEGATION_BEFORE):start]
        after = tokens[end:end + NEGATION_AFTER]
        return any(t in NEGATIONS for t in before) or any(t in NEGATIONS for t in after)

    def is_known(self, word: str) -> bool:
        return word in self.surface_words or plural_key(word) in self._plural_surface

    def with_local(self, synonyms: dict[str, list[list[str]]]) -> "Lexicon":
        """This lexicon and a country's own synonyms ({locale: [[phrase, ...], ...]}, from its
        settings): each group becomes one more concept, of its locale's language only. A phrase of
        grammar words only ("it", "le") would match nearly every text: it is left out, and so is a
        group left with fewer than two phrases."""
        kept = {}
        for locale, groups in synonyms.items():
            meaningful = tuple(group for group in (_meaningful(g, locale) for g in groups) if len(group) > 1)
            if meaningful:
                kept[locale] = meaningful
        key = tuple(sorted(kept.items()))
        if not key:
            return self
        with _local_lock:
            found = _local_lexicons.get((id(self), key))
            if found is None:
                concepts = dict(self.concepts)
                for locale, groups in key:
                    language = base_language(locale)
                    for number, group in enumerate(groups):
                        concepts[f"{LOCAL_PREFIX}{locale}-{number}"] = tuple(f"{language}:{p}" for p in group)
                found = _local_lexicons[(id(self), key)] = Lexicon(concepts)
                if len(_local_lexicons) > 256:  # settings edited many times in one process: drop the oldest
                    _local_lexicons.pop(next(iter(_local_lexicons)))
            return found


def _meaningful(group: list[str], locale: str) -> tuple[str, ...]:
    stops = stop_words(locale)
    return tuple(phrase for phrase in group if any(w not in stops and len(w) > 1 for w in words(phrase)))


LOCAL_PREFIX = "local-"  # the concepts a country's synonyms make: "local-fr-0"
_local_lexicons: dict[tuple[int, tuple], Lexicon] = {}
_local_lock = threading.Lock()

LEXICON = Lexicon()
