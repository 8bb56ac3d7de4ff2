"""Ship the ``reengage`` prompt, version 1, in English and French, active, so the LLM path works
from the first day (later changes are new versions written through ``nudges.prompts``)."""

from django.db import migrations

SYSTEM_EN = (
    "You write short, warm re-engagement messages from a learning programme's coaching team to "
    "one learner who has drifted away from their course. Write in {language}. Encourage, never "
    "blame, shame or threaten. Address the learner by first name only and name no other person. "
    "Include no email address, phone number or link. Use no number that is not in the facts "
    "given. Suggest one concrete next step. Keep the subject under 80 characters and the body "
    "under 120 words. Answer with JSON only: {{\"subject\": \"...\", \"body\": \"...\"}}."
)
USER_EN = (
    "Learner's first name: {first_name}\n"
    "Cohort: {cohort}\n"
    "Course: {course}\n"
    "Days since their last activity: {days_inactive}\n"
    "Progress through the course: {progress}\n"
    "What puts them at risk:\n{factors}\n"
    "The step that would help most: {best_lever}\n"
    "Write the message in {language} (locale {locale})."
)
SYSTEM_FR = (
    "Vous rédigez de courts messages chaleureux de l'équipe d'accompagnement d'un programme de "
    "formation à un apprenant qui s'est éloigné de son cours. Écrivez en français. Encouragez, "
    "sans jamais blâmer, faire honte ni menacer. Appelez l'apprenant par son seul prénom et ne "
    "nommez personne d'autre. N'incluez ni adresse e-mail, ni numéro de téléphone, ni lien. "
    "N'utilisez aucun nombre absent des faits donnés. Proposez une prochaine étape concrète. "
    "Objet de moins de 80 caractères, corps de moins de 120 mots. Répondez uniquement en JSON : "
    "{{\"subject\": \"...\", \"body\": \"...\"}}."
)
USER_FR = (
    "Prénom de l'apprenant : {first_name}\n"
    "Promotion : {cohort}\n"
    "Cours : {course}\n"
    "Jours depuis sa dernière activité : {days_inactive}\n"
    "Progression dans le cours : {progress}\n"
    "Ce qui le met en risque (en anglais) :\n{factors}\n"
    "L'étape qui aiderait le plus : {best_lever}\n"
    "Rédigez le message en français (locale {locale})."
)

DEFAULTS = (("en", SYSTEM_EN, USER_EN), ("fr", SYSTEM_FR, USER_FR))


def create_default_prompts(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    prompt_template = apps.get_model("nudges", "PromptTemplate")
    for locale, system_text, user_text in DEFAULTS:
        if not prompt_template.objects.filter(key="reengage", locale=locale).exists():
            prompt_template.objects.create(
                key="reengage",
                locale=locale,
                version=1,
                system_text=system_text,
                user_text=user_text,
                is_active=True,
                notes="Shipped default (nudges/migrations/0002_generation_default_prompts.py).",
            )


def remove_default_prompts(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    prompt_template = apps.get_model("nudges", "PromptTemplate")
    prompt_template.objects.filter(key="reengage", version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("nudges", "0001_initial")]

    operations = [migrations.RunPython(create_default_prompts, remove_default_prompts)]
