"""The deterministic message for a learner's top risk factor, in the learner's language.

Shipped in English, French, Spanish, German and Polish (``nudges.rendering.LANGUAGES``); a
learner whose language is none of them gets English. Spanish, German and Polish address the
learner informally (tú, du, ty) and avoid forms that depend on the learner's gender. Used when the LLM is not configured, switched off for the cohort, fails, or writes something a
guardrail rejects: the same learner always gets the same words. Each template passes every
guardrail (tests hold them to it), names the learner by first name only and uses no number but
the learner's own days away.
"""

from collections.abc import Mapping

from learners.contracts import RiskSnapshot
from nudges.rendering import language_of, safe_format

#: Risk factors grouped by what a message can say about them; unknown factors get ``general``.
FACTOR_GROUPS: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "days_inactive",
            "active_days_ratio",
            "active_days_log",
            "active_days_vs_peers",
            "active_share",
            "activity_span_share",
            "events_log",
            "events_vs_peers",
            "logins_log",
            "content_log",
            "videos_log",
        ),
        "inactive",
    ),
    "activity_trend": "slowing",
    "time_trend": "slowing",
    **dict.fromkeys(("assessment_mean", "assessment_count", "assessments_log"), "assessments"),
    **dict.fromkeys(("social", "forum_log"), "social"),
    **dict.fromkeys(("progress_gap", "lessons_log"), "progress"),
    **dict.fromkeys(("new_learner", "first_week_events_log"), "start"),
}

#: Below this many days away, "it has been N days" would read oddly: the message says "slowing".
DAYS_WORTH_SAYING = 2

#: The step that helps most, by factor group: the prompt's ``best_lever``, in the learner's language.
ADVICE: Mapping[str, Mapping[str, str]] = {
    "en": {
        "inactive": "coming back for a short session soon",
        "slowing": "setting aside a little regular time each week",
        "assessments": "trying the next quiz, with the course material at hand",
        "social": "joining a discussion in the course forum",
        "progress": "completing the next lesson",
        "start": "taking the first steps of the course this week",
        "general": "planning the next small step in the course",
    },
    "fr": {
        "inactive": "revenir bientôt pour une courte séance",
        "slowing": "réserver un peu de temps régulier chaque semaine",
        "assessments": "tenter le prochain quiz, avec les supports du cours sous la main",
        "social": "participer à une discussion du forum du cours",
        "progress": "terminer la prochaine leçon",
        "start": "faire les premiers pas du cours cette semaine",
        "general": "prévoir la prochaine petite étape du cours",
    },
    "es": {
        "inactive": "volver pronto para una sesión breve",
        "slowing": "reservar un poco de tiempo fijo cada semana",
        "assessments": "intentar el próximo cuestionario, con el material del curso a mano",
        "social": "participar en un debate del foro del curso",
        "progress": "completar la próxima lección",
        "start": "dar los primeros pasos del curso esta semana",
        "general": "planificar el próximo pequeño paso del curso",
    },
    "de": {
        "inactive": "bald für eine kurze Lerneinheit zurückkommen",
        "slowing": "jede Woche ein wenig feste Zeit einplanen",
        "assessments": "das nächste Quiz angehen, mit den Kursunterlagen zur Hand",
        "social": "sich an einer Diskussion im Kursforum beteiligen",
        "progress": "die nächste Lektion abschließen",
        "start": "diese Woche die ersten Schritte im Kurs machen",
        "general": "den nächsten kleinen Schritt im Kurs planen",
    },
    "pl": {
        "inactive": "wrócić wkrótce na krótką sesję nauki",
        "slowing": "rezerwować co tydzień trochę stałego czasu na naukę",
        "assessments": "spróbować rozwiązać kolejny quiz, mając materiały z kursu pod ręką",
        "social": "dołączyć do dyskusji na forum kursu",
        "progress": "ukończyć kolejną lekcję",
        "start": "zrobić w tym tygodniu pierwsze kroki w kursie",
        "general": "zaplanować kolejny mały krok w kursie",
    },
}

#: (subject, body) by language and factor group; placeholders: greeting, course, days.
TEMPLATES: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "en": {
        "inactive": (
            "Your {course} course is waiting for you",
            "{greeting}\n\nIt has been {days} days since your last visit to {course}. Picking up "
            "where you left off takes only a few minutes, and every step counts.\n\nIf anything "
            "is getting in the way, reply to this message: your coach is happy to help.",
        ),
        "slowing": (
            "A little time for {course} this week?",
            "{greeting}\n\nYou have been studying {course} a little less lately. A short, "
            "regular slot in your week is often all it takes to keep going.\n\nIf something "
            "has changed, reply to this message: your coach is happy to help.",
        ),
        "assessments": (
            "Ready for the next quiz in {course}?",
            "{greeting}\n\nQuizzes are a good way to check what has sunk in. Have another go at "
            "the next one in {course}, with the course material at hand.\n\nIf a topic feels "
            "unclear, reply to this message: your coach is happy to help.",
        ),
        "social": (
            "Join the conversation in {course}",
            "{greeting}\n\nOther learners in {course} are discussing the course in the forum. "
            "Asking a question or sharing an idea there is a good way to stay on track.\n\nYour "
            "coach is happy to help too: just reply to this message.",
        ),
        "progress": (
            "Your next lesson in {course}",
            "{greeting}\n\nThe next lesson in {course} is ready for you. Completing it is a good "
            "way to catch up with the course plan.\n\nIf you need a hand planning your time, "
            "reply to this message: your coach is happy to help.",
        ),
        "start": (
            "Welcome to {course}",
            "{greeting}\n\nThe first week of {course} is the best time to find your rhythm. "
            "Take a first look at the course materials when you can.\n\nIf you have any "
            "question, reply to this message: your coach is happy to help.",
        ),
        "general": (
            "Keep going with {course}",
            "{greeting}\n\nWe would love to see you continue with {course}. The next small step "
            "is waiting for you in the course.\n\nIf anything is getting in the way, reply to "
            "this message: your coach is happy to help.",
        ),
    },
    "fr": {
        "inactive": (
            "Votre cours {course} vous attend",
            "{greeting}\n\nCela fait {days} jours depuis votre dernière visite sur {course}. "
            "Reprendre là où vous vous étiez arrêté ne prend que quelques minutes, et chaque "
            "étape compte.\n\nSi quelque chose vous freine, répondez à ce message : votre coach "
            "sera heureux de vous aider.",
        ),
        "slowing": (
            "Un peu de temps pour {course} cette semaine ?",
            "{greeting}\n\nVous étudiez {course} un peu moins ces derniers temps. Un court "
            "moment régulier dans votre semaine suffit souvent pour continuer.\n\nSi quelque "
            "chose a changé, répondez à ce message : votre coach sera heureux de vous aider.",
        ),
        "assessments": (
            "Prêt pour le prochain quiz de {course} ?",
            "{greeting}\n\nLes quiz sont un bon moyen de vérifier ce que vous avez retenu. "
            "Tentez le prochain quiz de {course}, avec les supports du cours sous la main.\n\n"
            "Si un sujet vous semble flou, répondez à ce message : votre coach sera heureux de "
            "vous aider.",
        ),
        "social": (
            "Rejoignez la discussion sur {course}",
            "{greeting}\n\nD'autres apprenants de {course} échangent sur le forum du cours. Y "
            "poser une question ou partager une idée aide à garder le rythme.\n\nVotre coach "
            "est là aussi : il suffit de répondre à ce message.",
        ),
        "progress": (
            "Votre prochaine leçon de {course}",
            "{greeting}\n\nLa prochaine leçon de {course} vous attend. La terminer est un bon "
            "moyen de rattraper le programme du cours.\n\nSi vous avez besoin d'aide pour "
            "organiser votre temps, répondez à ce message : votre coach sera heureux de vous "
            "aider.",
        ),
        "start": (
            "Bienvenue dans {course}",
            "{greeting}\n\nLa première semaine de {course} est le meilleur moment pour trouver "
            "votre rythme. Jetez un premier coup d'œil aux supports du cours dès que possible."
            "\n\nSi vous avez une question, répondez à ce message : votre coach sera heureux de "
            "vous aider.",
        ),
        "general": (
            "Continuez avec {course}",
            "{greeting}\n\nNous serions ravis de vous voir continuer {course}. La prochaine "
            "petite étape vous attend dans le cours.\n\nSi quelque chose vous freine, répondez à "
            "ce message : votre coach sera heureux de vous aider.",
        ),
    },
    "es": {
        "inactive": (
            "Tu curso {course} te espera",
            "{greeting}\n\nHan pasado {days} días desde tu última visita a {course}. Retomarlo "
            "donde lo dejaste solo lleva unos minutos, y cada paso cuenta.\n\nSi algo te lo está "
            "poniendo difícil, responde a este mensaje: tu coach te ayudará con gusto.",
        ),
        "slowing": (
            "¿Un poco de tiempo para {course} esta semana?",
            "{greeting}\n\nÚltimamente le dedicas algo menos de tiempo a {course}. Un rato breve "
            "y regular en tu semana suele bastar para seguir adelante.\n\nSi algo ha cambiado, "
            "responde a este mensaje: tu coach te ayudará con gusto.",
        ),
        "assessments": (
            "¿Te animas con el próximo cuestionario de {course}?",
            "{greeting}\n\nLos cuestionarios son una buena forma de comprobar lo que has "
            "aprendido. Prueba con el próximo de {course}, con el material del curso a mano.\n\nSi "
            "algún tema no te queda claro, responde a este mensaje: tu coach te ayudará con gusto.",
        ),
        "social": (
            "Únete a la conversación en {course}",
            "{greeting}\n\nOtras personas que estudian {course} están conversando en el foro del "
            "curso. Hacer una pregunta o compartir una idea allí es una buena forma de mantener el "
            "ritmo.\n\nTu coach también puede ayudarte: solo tienes que responder a este mensaje.",
        ),
        "progress": (
            "Tu próxima lección de {course}",
            "{greeting}\n\nLa próxima lección de {course} ya está lista para ti. Completarla es "
            "una buena forma de ponerte al día con el plan del curso.\n\nSi necesitas ayuda para "
            "organizar tu tiempo, responde a este mensaje: tu coach te ayudará con gusto.",
        ),
        "start": (
            "Te damos la bienvenida a {course}",
            "{greeting}\n\nLa primera semana de {course} es el mejor momento para encontrar tu "
            "ritmo. Echa un primer vistazo a los materiales del curso cuando puedas.\n\nSi tienes "
            "alguna pregunta, responde a este mensaje: tu coach te ayudará con gusto.",
        ),
        "general": (
            "Sigue adelante con {course}",
            "{greeting}\n\nNos encantaría que siguieras con {course}. El próximo pequeño paso te "
            "espera en el curso.\n\nSi algo te lo está poniendo difícil, responde a este mensaje: "
            "tu coach te ayudará con gusto.",
        ),
    },
    # After "Hallo Ada," a German letter goes on in lower case (nouns keep their capital).
    "de": {
        "inactive": (
            "Dein Kurs {course} wartet auf dich",
            "{greeting}\n\ndein letzter Besuch in {course} ist {days} Tage her. Dort "
            "weiterzumachen, wo du aufgehört hast, dauert nur ein paar Minuten, und jeder Schritt "
            "zählt.\n\nWenn dich etwas aufhält, antworte einfach auf diese Nachricht. Dein Coach "
            "hilft dir gern.",
        ),
        "slowing": (
            "Diese Woche ein wenig Zeit für {course}?",
            "{greeting}\n\nin letzter Zeit hast du etwas weniger für {course} gelernt. Oft reicht "
            "schon ein kurzes, regelmäßiges Zeitfenster pro Woche, um dranzubleiben.\n\nWenn "
            "sich etwas verändert hat, antworte einfach auf diese Nachricht. Dein Coach hilft dir "
            "gern.",
        ),
        "assessments": (
            "Bereit für das nächste Quiz in {course}?",
            "{greeting}\n\nQuizze sind eine gute Möglichkeit, zu prüfen, was hängen geblieben "
            "ist. Nimm dir das nächste Quiz in {course} vor, am besten mit den Kursunterlagen zur "
            "Hand.\n\nWenn dir ein Thema unklar ist, antworte einfach auf diese Nachricht. Dein "
            "Coach hilft dir gern.",
        ),
        "social": (
            "Mach mit bei der Diskussion in {course}",
            "{greeting}\n\nandere Teilnehmende in {course} tauschen sich im Kursforum aus. Dort "
            "eine Frage zu stellen oder eine Idee zu teilen, hilft dir, am Ball zu bleiben.\n\n"
            "Auch dein Coach hilft dir gern: Antworte einfach auf diese Nachricht.",
        ),
        "progress": (
            "Deine nächste Lektion in {course}",
            "{greeting}\n\ndie nächste Lektion in {course} wartet auf dich. Mit ihr holst du im "
            "Kursplan wieder auf.\n\nWenn du Hilfe bei der Zeitplanung brauchst, antworte einfach "
            "auf diese Nachricht. Dein Coach hilft dir gern.",
        ),
        "start": (
            "Willkommen in {course}",
            "{greeting}\n\ndie erste Woche in {course} ist die beste Zeit, deinen Rhythmus zu "
            "finden. Wirf einen ersten Blick in die Kursunterlagen, sobald du kannst.\n\nWenn du "
            "Fragen hast, antworte einfach auf diese Nachricht. Dein Coach hilft dir gern.",
        ),
        "general": (
            "Mach weiter mit {course}",
            "{greeting}\n\nwir würden uns freuen, wenn du mit {course} weitermachst. Der nächste "
            "kleine Schritt wartet im Kurs auf dich.\n\nWenn dich etwas aufhält, antworte einfach "
            "auf diese Nachricht. Dein Coach hilft dir gern.",
        ),
    },
    "pl": {
        "inactive": (
            "Kurs {course} czeka na Ciebie",
            "{greeting}\n\nOd Twojej ostatniej wizyty na kursie {course} minęło {days} dni. "
            "Powrót do nauki zajmie tylko kilka minut, a każdy krok się liczy.\n\nJeśli coś stoi "
            "na przeszkodzie, odpowiedz na tę wiadomość. Twój coach chętnie pomoże.",
        ),
        "slowing": (
            "Trochę czasu na {course} w tym tygodniu?",
            "{greeting}\n\nOstatnio poświęcasz na kurs {course} nieco mniej czasu. Często "
            "wystarczy krótka, regularna chwila w tygodniu, żeby utrzymać tempo.\n\nJeśli coś się "
            "zmieniło, odpowiedz na tę wiadomość. Twój coach chętnie pomoże.",
        ),
        "assessments": (
            "Czas na kolejny quiz z {course}?",
            "{greeting}\n\nQuizy to dobry sposób, by sprawdzić, co udało się zapamiętać. Spróbuj "
            "rozwiązać kolejny quiz z {course}, mając pod ręką materiały z kursu.\n\nJeśli jakiś "
            "temat jest niejasny, odpowiedz na tę wiadomość. Twój coach chętnie pomoże.",
        ),
        "social": (
            "Dołącz do rozmowy na kursie {course}",
            "{greeting}\n\nInne osoby z kursu {course} dyskutują na forum. Zadanie pytania albo "
            "podzielenie się pomysłem to dobry sposób, żeby utrzymać rytm.\n\nTwój coach też "
            "chętnie pomoże: wystarczy odpowiedzieć na tę wiadomość.",
        ),
        "progress": (
            "Twoja kolejna lekcja na kursie {course}",
            "{greeting}\n\nKolejna lekcja na kursie {course} już na Ciebie czeka. Jej ukończenie "
            "pomoże Ci nadążyć za planem kursu.\n\nJeśli potrzebujesz pomocy w zaplanowaniu "
            "czasu, odpowiedz na tę wiadomość. Twój coach chętnie pomoże.",
        ),
        "start": (
            "Witamy na kursie {course}",
            "{greeting}\n\nPierwszy tydzień kursu {course} to najlepszy moment, by złapać swój "
            "rytm. Zajrzyj do materiałów kursu, kiedy tylko możesz.\n\nJeśli masz jakieś "
            "pytania, odpowiedz na tę wiadomość. Twój coach chętnie pomoże.",
        ),
        "general": (
            "Kontynuuj kurs {course}",
            "{greeting}\n\nChętnie zobaczymy Twoje dalsze postępy na kursie {course}. Kolejny "
            "mały krok już na Ciebie czeka.\n\nJeśli coś stoi na przeszkodzie, odpowiedz na tę "
            "wiadomość. Twój coach chętnie pomoże.",
        ),
    },
}

#: The opening line by language: with the first name, and without (a learner with no name).
GREETINGS: Mapping[str, tuple[str, str]] = {
    "en": ("Hi {name},", "Hello,"),
    "fr": ("Bonjour {name},", "Bonjour,"),
    "es": ("Hola, {name}:", "Hola:"),
    "de": ("Hallo {name},", "Hallo,"),
    "pl": ("Cześć {name},", "Cześć,"),
}


def factor_group(factor: str | None, *, days_inactive: float) -> str:
    """The template group for a top factor; days away too few to mention read as "slowing"."""
    group = FACTOR_GROUPS.get(factor or "", "general")
    if group == "inactive" and days_inactive < DAYS_WORTH_SAYING:
        return "slowing"
    return group


def snapshot_group(snapshot: RiskSnapshot) -> str:
    """The group of the learner's top factor (the one pushing their risk up most)."""
    top = snapshot.top_factors[0].name if snapshot.top_factors else None
    return factor_group(top, days_inactive=snapshot.days_inactive)


def greeting(first_name: str, language: str) -> str:
    named, anonymous = GREETINGS[language]
    return safe_format(named, {"name": first_name}) if first_name else anonymous


def fallback_message(snapshot: RiskSnapshot) -> tuple[str, str]:
    """(subject, body) from the template of the learner's top factor, in their language."""
    language = language_of(snapshot.locale)
    subject, body = TEMPLATES[language][snapshot_group(snapshot)]
    context = {
        "greeting": greeting(snapshot.first_name, language),
        "course": snapshot.course_code or snapshot.cohort_name,
        "days": str(round(snapshot.days_inactive)),
    }
    return safe_format(subject, context), safe_format(body, context)
