"""Language-specific words for the guardrails, in the template languages beyond English and
French (those two are written into ``nudges.guardrails`` itself).

Data only, kept apart from the rules so that the language side can grow without touching them:
``nudges.guardrails`` adds each list to its rule (``tone``: shaming or threatening words;
``other_name``: greetings and honorifics that name someone). Each entry is a regular-expression
alternative matched as a whole word, case-insensitively for ``SHAMING``, as written for the other
two (a name follows them). ``tests/nudges/test_generation_languages.py`` holds the shipped
templates to them.
"""

from collections.abc import Mapping

#: Shaming or threatening words and phrases, by language.
SHAMING: Mapping[str, tuple[str, ...]] = {
    "es": (
        "vago",
        "vaga",
        r"perezos\w*",
        "vergüenza",
        r"vergonzos\w*",
        r"patétic\w*",
        r"inútil\w*",
        r"estúpid\w*",
        r"fracasad\w*",
        r"decepcion\w*",
        "última advertencia",
        r"expuls\w*",
        "vas a suspender",
        "consecuencias",
        "o si no",
    ),
    "de": (
        r"faul\w*",
        "schande",
        r"schäm\w*",
        r"peinlich\w*",
        r"erbärmlich\w*",
        r"nutzlos\w*",
        r"hoffnungslos\w*",
        r"enttäusch\w*",
        r"versager\w*",
        "letzte warnung",
        r"exmatrikul\w*",
        "rausgeworfen",
        r"rauswurf\w*",
        "konsequenzen",
        "sonst wirst du",
        "du wirst scheitern",
    ),
    "pl": (
        r"leniw\w*",
        r"wstyd\w*",
        r"żałosn\w*",
        r"bezużyteczn\w*",
        r"beznadziejn\w*",
        r"rozczarow\w*",
        r"nieudacznik\w*",
        "ostatnie ostrzeżenie",
        r"wyrzuc\w* z kursu",
        r"konsekwencj\w*",
        "bo inaczej",
        "oblejesz",
    ),
}

#: Greetings that open a message with a name ("Hola Marta" names someone else), by language.
#: German "Liebe" is left out: "Liebe Grüße" closes many a message.
GREETINGS: Mapping[str, tuple[str, ...]] = {
    "es": ("Hola", "Querido", "Querida", "Estimado", "Estimada"),
    "de": ("Hallo", "Servus", "Moin", "Sehr geehrte", "Sehr geehrter"),
    "pl": ("Cześć", "Witaj", "Witam", "Hej", "Drogi", "Droga", "Szanowny", "Szanowna"),
}

#: Honorifics that come before a person's name, by language.
HONORIFICS: Mapping[str, tuple[str, ...]] = {
    "es": ("Sr", "Sra", "Srta", "Señor", "Señora", "Señorita", "Dra"),
    "de": ("Herr", "Herrn", "Frau"),
    "pl": ("Pan", "Pani", "Panie", "Panią", "Pana", "Panu"),
}

#: Languages that capitalise every noun: two capitalised words side by side do not make a name
#: there, so ``other_name`` relies on greetings, honorifics and the first name's surname alone.
NOUNS_CAPITALISED = frozenset({"de"})
