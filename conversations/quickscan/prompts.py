"""The DM prompts of the walkthrough, rendered from one loaded ``Turn``.

Rendering reads nothing from storage: the walkthrough loads the participation's
round, team and answers once per event into a :class:`Turn`, so one answer costs
a fixed, small number of queries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace as replace_fields

from conversations.core.cldr import format_list
from conversations.core.i18n import Catalogue
from conversations.core.messages import Button, Destination, Outbound
from conversations.instrument import (
    Quickscan,
    Scale,
    grade_item_id,
    open_item_id,
)
from conversations.quickscan.payloads import Action, Verb
from storage.quickscan.records import Participation, ParticipationState

S = ParticipationState


@dataclass(frozen=True, slots=True)
class Turn:
    """Everything one event needs about a member's walkthrough, loaded once."""

    participation: Participation
    instrument: Quickscan
    texts: Catalogue
    answers: Mapping[str, str]
    round_open: bool


def dm(
    participation: Participation,
    text: str,
    *,
    buttons: tuple[Button, ...] = (),
    replace: bool = False,
) -> Outbound:
    """A message to the member's private chat."""
    return Outbound(
        destination=Destination.dm(team=participation.key.team, user=participation.key.user),
        text=text,
        buttons=buttons,
        replace_previous=replace,
    )


def choice_button(turn: Turn, label: str, verb: Verb, position: int, arg: int | None) -> Button:
    """A button whose payload names this participation, verb, position and choice."""
    action = Action(participation_id=turn.participation.id, verb=verb, position=position, arg=arg)
    return Button(label=label, payload=action.encode())


def nav_button(turn: Turn, key: str, verb: Verb, position: int) -> Button:
    """A navigation button labelled from the catalogue."""
    return choice_button(turn, turn.texts.t(key), verb, position, None)


def invitation(turn: Turn, *, opened_by: str) -> Outbound:
    """The intro DM sent when a round starts: what it is, the aspect model, how to answer.

    It asks to answer independently (seed 000: "onafhankelijk van elkaar"), since
    the merged result only shows agreement and divided opinions if nobody aligned
    their answers beforehand.
    """
    if turn.instrument.paired is not None:
        return paired_invitation(turn, opened_by=opened_by)
    participation = turn.participation
    texts = turn.texts
    intro = texts.t(
        "dm.intro",
        name=participation.display_name,
        coordinator=opened_by,
        title=turn.instrument.title,
        total=len(turn.instrument.questions),
    )
    model = aspect_model(turn.instrument, locale=texts.locale)
    shown_model = texts.t("dm.intro_model", model=model) if model else ""
    text = "\n\n".join(part for part in (intro, shown_model, texts.t("dm.intro_tips")) if part)
    buttons = (
        nav_button(turn, "button.start", Verb.GO, 0),
        nav_button(turn, "button.later", Verb.PAUSE, 0),
    )
    return dm(participation, text, buttons=buttons)


def aspect_model(instrument: Quickscan, *, locale: str) -> str:
    """The instrument's aspects in one line, each step building on the one before.

    "positieve attitude en basale organisatie → wederkerige relatie → wederzijdse
    afstemming" (seed 001). The steps are the clusters, which the closing page
    grades per aspect: a cluster's grade label names its aspects (their ids), so
    the grouping is data. If some aspect is named by no grade label, the aspects
    are shown one step each, in file order. Empty for an instrument without aspects.
    """
    aspects = instrument.aspects
    if not aspects:
        return ""
    steps: list[list[str]] = []
    placed: set[str] = set()
    for cluster in instrument.clusters:
        words = cluster.grade_label.lower().split()
        step = [a for a in aspects if a.id not in placed and a.id.lower() in words]
        placed.update(a.id for a in step)
        if step:
            steps.append([a.name for a in step])
    if len(placed) != len(aspects):
        steps = [[aspect.name] for aspect in aspects]
    return " → ".join(format_list(step, locale=locale) for step in steps)


def prompt(turn: Turn, *, replace: bool) -> Outbound:
    """The message for the member's current state."""
    state = turn.participation.state
    if state is S.ANSWERING:
        return _question(turn, replace=replace)
    if state is S.GRADES:
        return _grade(turn, replace=replace)
    if state is S.OPEN_QUESTIONS:
        return _open_question(turn, replace=replace)
    if state is S.REVIEW:
        return _review(turn, replace=replace)
    key, button, verb = {
        S.INVITED: ("dm.invited_again", "button.start", Verb.GO),
        S.SUBMITTED: ("dm.submitted", "button.edit", Verb.EDIT),
        S.PAUSED: ("dm.paused", "button.resume", Verb.GO),
    }[state]
    return dm(turn.participation, turn.texts.t(key), buttons=(nav_button(turn, button, verb, 0),))


def _navigation(turn: Turn, position: int) -> tuple[Button, ...]:
    return (
        nav_button(turn, "button.back", Verb.BACK, position),
        nav_button(turn, "button.later", Verb.PAUSE, position),
    )


def paired_invitation(turn: Turn, *, opened_by: str) -> Outbound:
    """The intro of a paired survey (seed 003): statements twice, experience then importance.

    Like the quickscan's it asks to answer independently; it names the two lists
    because every statement comes back in the second one.
    """
    survey, texts = turn.instrument.paired_or_raise(), turn.texts
    codes = survey.answer_codes(default=turn.instrument.scale)
    text = texts.t(
        "survey.intro",
        name=turn.participation.display_name,
        coordinator=opened_by,
        title=turn.instrument.title,
        items=texts.t("survey.items", count=len(turn.instrument.item_ids())),
        first=survey.experience.title,
        second=survey.importance.title,
        lowest=codes[0],
        highest=codes[-1],
    )
    buttons = (
        nav_button(turn, "button.start", Verb.GO, 0),
        nav_button(turn, "button.later", Verb.PAUSE, 0),
    )
    return dm(turn.participation, text, buttons=buttons)


def paired_question(turn: Turn, *, replace: bool) -> Outbound:
    """One statement of a paired survey, with its list's instruction and its own scale.

    The instruction comes with every statement: an importance statement ("Dat u de
    thuissituatie van uw leerlingen kent?") only reads as a question after its
    "Vindt u het belangrijk dat:". The buttons show the number with the label the
    seed prints above the section, as the paper form does.
    """
    instrument, texts = turn.instrument, turn.texts
    survey = instrument.paired_or_raise()
    index = turn.participation.position
    item = survey.items()[index]
    survey_list = survey.list_of(item)
    scale = instrument.scale_at(index)
    lines = [
        texts.t(
            "survey.header",
            list=survey_list.name,
            section=survey.section(item.section).name,
            number=index + 1,
            total=len(instrument.item_ids()),
        ),
        survey_list.instruction_for(item),
        "",
        texts.t("survey.statement", number=item.number, text=item.text),
    ]
    current = turn.answers.get(item.id)
    if current is not None:
        lines += ["", texts.t("q.current", answer=_answer_text(scale, current))]
    answers = tuple(
        choice_button(turn, f"{option.code} {option.label}", Verb.ANSWER, index, option_index)
        for option_index, option in enumerate(scale.options)
    )
    return dm(
        turn.participation,
        "\n".join(lines),
        buttons=answers + _navigation(turn, index),
        replace=replace,
    )


def paired_review(turn: Turn, *, replace: bool) -> Outbound:
    """The summary of a paired survey: per list how often each number was chosen."""
    texts, answers = turn.texts, turn.answers
    survey = turn.instrument.paired_or_raise()
    answered = sum(1 for item_id in turn.instrument.item_ids() if item_id in answers)
    lines = [
        texts.t("review.header"),
        texts.t("survey.answered", answered=answered, count=len(turn.instrument.item_ids())),
    ]
    for survey_list in (survey.experience, survey.importance):
        counts = Counter(answers[i.id] for i in survey_list.items if i.id in answers)
        codes = dict.fromkeys(
            option.code
            for item in survey_list.items
            for option in survey.scale_of(item, default=turn.instrument.scale).options
        )
        spread = " · ".join(f"{code}: {counts.get(code, 0)}" for code in codes)
        lines.append(texts.t("survey.review_list", list=survey_list.name, spread=spread))
    submitted = turn.participation.submitted_at is not None
    lines += ["", texts.t("review.resubmit" if submitted else "review.send")]
    buttons = (nav_button(turn, "button.send", Verb.SEND, 0), *_navigation(turn, 0))
    return dm(turn.participation, "\n".join(lines), buttons=buttons, replace=replace)


def _answer_text(scale: Scale, code: str) -> str:
    """A stored answer as the member chose it: "3 (redelijk)", or the raw code if unknown."""
    try:
        return f"{code} ({scale.by_code(code).label})"
    except KeyError:
        return code


def _question(turn: Turn, *, replace: bool) -> Outbound:
    if turn.instrument.paired is not None:
        return paired_question(turn, replace=replace)
    instrument, texts = turn.instrument, turn.texts
    index = turn.participation.position
    question = instrument.questions[index]
    factor = instrument.factor(question.factor)
    label = factor.short_name.capitalize()
    subtheme = instrument.subtheme_name(question)
    if subtheme:
        label = f"{label} · {subtheme}"
    lines = [
        texts.t("q.header", factor=label, number=index + 1, total=len(instrument.questions)),
        texts.t("q.factor", number=factor.number, sentence=factor.sentence),
        "",
        question.text,
    ]
    current = turn.answers.get(question.id)
    if current is not None:
        lines += ["", texts.t("q.current", answer=current)]
    answers = tuple(
        choice_button(turn, option.code, Verb.ANSWER, index, option_index)
        for option_index, option in enumerate(instrument.scale.options)
    )
    return dm(
        turn.participation,
        "\n".join(lines),
        buttons=answers + _navigation(turn, index),
        replace=replace,
    )


def _grade(turn: Turn, *, replace: bool) -> Outbound:
    instrument, texts = turn.instrument, turn.texts
    index = turn.participation.position
    cluster = instrument.clusters[index]
    closing = instrument.closing
    factors = instrument.factors_of(cluster.id)
    lines = [
        texts.t("grade.header", number=index + 1, total=len(instrument.clusters)),
        closing.grade_question or "",  # grades are only asked when there is one
        "",
        texts.t(
            "grade.aspect",
            aspect=cluster.grade_label,
            first=factors[0].number,
            last=factors[-1].number,
            names=", ".join(factor.short_name for factor in factors),
        ),
        texts.t("grade.how", low=closing.grade_min, high=closing.grade_max),
    ]
    current = turn.answers.get(grade_item_id(cluster_id=cluster.id))
    if current is not None:
        lines += ["", texts.t("q.current", answer=current)]
    grades = tuple(
        choice_button(turn, str(grade), Verb.GRADE, index, grade)
        for grade in range(closing.grade_min, closing.grade_max + 1)
    )
    return dm(
        turn.participation,
        "\n".join(lines),
        buttons=grades + _navigation(turn, index),
        replace=replace,
    )


def _open_question(turn: Turn, *, replace: bool) -> Outbound:
    instrument, texts = turn.instrument, turn.texts
    index = turn.participation.position
    question = instrument.closing.open_questions[index]
    lines = [
        texts.t("open.header", number=index + 1, total=len(instrument.closing.open_questions)),
        question.text,
        "",
        texts.t("open.how"),
    ]
    current = turn.answers.get(open_item_id(question_id=question.id))
    if current:
        lines += ["", texts.t("q.current", answer=current)]
    buttons = (nav_button(turn, "button.skip", Verb.SKIP, index), *_navigation(turn, index))
    message = dm(turn.participation, "\n".join(lines), buttons=buttons, replace=replace)
    return replace_fields(message, free_text=True)


def _review(turn: Turn, *, replace: bool) -> Outbound:
    if turn.instrument.paired is not None:
        return paired_review(turn, replace=replace)
    instrument, texts, answers = turn.instrument, turn.texts, turn.answers
    counts = Counter(answers[q.id] for q in instrument.questions if q.id in answers)
    spread = "  ".join(
        f"{option.code}: {counts.get(option.code, 0)}" for option in instrument.scale.options
    )
    lines = [
        texts.t("review.header"),
        texts.t("review.answered", answered=sum(counts.values()), count=len(instrument.questions)),
        spread,
        "",
        texts.t("review.grades"),
    ]
    for cluster in instrument.clusters:
        grade = answers.get(grade_item_id(cluster_id=cluster.id), "–")
        lines.append(f"• {cluster.grade_label}: {grade}")
    for question in instrument.closing.open_questions:
        given = answers.get(open_item_id(question_id=question.id)) or texts.t("review.none")
        lines += ["", f"_{question.text}_", given]
    submitted = turn.participation.submitted_at is not None
    lines += ["", texts.t("review.resubmit" if submitted else "review.send")]
    buttons = (nav_button(turn, "button.send", Verb.SEND, 0), *_navigation(turn, 0))
    return dm(turn.participation, "\n".join(lines), buttons=buttons, replace=replace)
