"""The quickscan: questions per success factor on one scale, then a closing page.

A question's ``id`` is what answers are stored under, so the checks here make sure
every reference in the file (factor, cluster, subtheme) resolves before anybody
answers.

A team instrument of another shape, the paired survey of seed 003 (every statement
answered for experience and for importance, ``conversations.instrument.paired``), is
a quickscan too: it is started, answered one item at a time, closed and frozen the
same way. It carries its items in ``paired`` instead of ``questions``; everything
that belongs to success factors (clusters, aspects, factors, the closing page) is
then empty, so code that walks the factors simply finds none.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from conversations.instrument.base import Id, Model, Scale, Text, check_unique, fail
from conversations.instrument.paired import PairedSurvey


class Cluster(Model):
    """A group of success factors (contact, samenwerking, toekomstperspectief).

    The closing page asks one grade per cluster, labelled with ``grade_label``.
    """

    id: Id
    name: Text
    title: Text
    grade_label: Text


class Aspect(Model):
    """One of the four aspects of working with parents, shown as background."""

    id: Id
    name: Text
    description: Text


class SubTheme(Model):
    """A named block of questions within a factor (factor 1 has three)."""

    id: Id
    name: Text


class Factor(Model):
    """A success factor; its questions are asked together."""

    number: Annotated[int, Field(ge=1)]
    id: Id
    short_name: Text
    sentence: Text
    cluster: Id
    subthemes: tuple[SubTheme, ...] = ()
    # The Gereedschapskist tool that works on this factor, named with a priority.
    tool: Text | None = None
    # One concrete first step suggested when the team result makes this a priority.
    first_step: Text | None = None
    # Word stems that, in respondents' own priority answers, point at this factor.
    keywords: tuple[Text, ...] = ()


class Question(Model):
    """One quickscan item.

    ``id`` is what answers are stored under: never renumber or reuse it, or existing
    answers would be attributed to another question.
    """

    id: Id
    factor: Annotated[int, Field(ge=1)]
    subtheme: Id | None = None
    text: Text


class OpenQuestion(Model):
    """A free-text question on the closing page."""

    id: Id
    text: Text


class ClosingPage(Model):
    """The last page: a grade per cluster and the open questions about improvement.

    Both parts are optional: without a ``grade_question`` no grades are asked, and
    an instrument without a ``closing`` key has no closing page at all (the paired
    survey goes from its last statement straight to the summary).
    """

    grade_question: Text | None = None
    grade_min: int = 1
    grade_max: int = 10
    open_questions: tuple[OpenQuestion, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> ClosingPage:
        if self.grade_min >= self.grade_max:
            fail(("grade_max",), "grade_max must be greater than grade_min")
        check_unique(self.open_questions, attribute="id", field=("open_questions",), what="id")
        return self


class Quickscan(Model):
    """A quickscan: questions per success factor, answered on one scale, then a closing page."""

    kind: Literal["quickscan"]
    id: Id
    title: Text
    school_type: Id
    source: Text
    # The scale of every item that names no other (a paired survey names its own per
    # section in ``paired``).
    scale: Scale
    clusters: tuple[Cluster, ...] = ()
    aspects: tuple[Aspect, ...] = ()
    factors: tuple[Factor, ...] = ()
    questions: tuple[Question, ...] = ()
    closing: ClosingPage = Field(default_factory=ClosingPage)
    # A paired survey (experience and importance per statement) instead of questions.
    paired: PairedSurvey | None = None

    def paired_or_raise(self) -> PairedSurvey:
        """The paired survey, for code that only runs for one (its walkthrough, its result).

        Raises:
            ValueError: This is a quickscan of questions (a programming error).
        """
        if self.paired is None:
            raise ValueError(f"instrument {self.id!r} is no paired survey")
        return self.paired

    @model_validator(mode="after")
    def _check(self) -> Quickscan:
        check_unique(self.clusters, attribute="id", field=("clusters",), what="cluster id")
        check_unique(self.aspects, attribute="id", field=("aspects",), what="aspect id")
        check_unique(self.factors, attribute="number", field=("factors",), what="factor number")
        check_unique(self.factors, attribute="id", field=("factors",), what="factor id")
        check_unique(self.questions, attribute="id", field=("questions",), what="question id")
        if self.paired is not None:
            self._check_paired()
            return self
        if not self.questions:
            fail(("questions",), "a quickscan needs at least one question (or a 'paired' survey)")
        if self.clusters and self.closing.grade_question is None:
            fail(
                ("closing", "grade_question"),
                "the closing page asks a grade per cluster, so it needs a grade_question",
            )

        cluster_ids = {cluster.id for cluster in self.clusters}
        for index, factor in enumerate(self.factors):
            if factor.cluster not in cluster_ids:
                fail(("factors", index, "cluster"), f"cluster {factor.cluster!r} is not defined")
            check_unique(
                factor.subthemes,
                attribute="id",
                field=("factors", index, "subthemes"),
                what="subtheme id",
            )
        for index, cluster in enumerate(self.clusters):
            if not any(factor.cluster == cluster.id for factor in self.factors):
                fail(("clusters", index), f"cluster {cluster.id!r} has no factors")

        subthemes = {f.number: [subtheme.id for subtheme in f.subthemes] for f in self.factors}
        for index, question in enumerate(self.questions):
            if question.factor not in subthemes:
                fail(("questions", index, "factor"), f"factor {question.factor} is not defined")
            subtheme_ids = subthemes[question.factor]
            if question.subtheme is None and subtheme_ids:
                fail(
                    ("questions", index, "subtheme"),
                    f"factor {question.factor} has subthemes, so question {question.id!r}"
                    f" needs one of {subtheme_ids}",
                )
            if question.subtheme is not None and question.subtheme not in subtheme_ids:
                expected = f"one of {subtheme_ids}" if subtheme_ids else "none"
                fail(
                    ("questions", index, "subtheme"),
                    f"subtheme {question.subtheme!r} is not defined for factor"
                    f" {question.factor} (expected {expected})",
                )
        for index, factor in enumerate(self.factors):
            if not any(question.factor == factor.number for question in self.questions):
                fail(("factors", index), f"factor {factor.number} has no questions")
        return self

    def _check_paired(self) -> None:
        """A paired survey is the whole instrument: no success-factor parts beside it.

        Mixing both would give one round two incompatible results; the check names
        the first part that is in the way.
        """
        for name in ("questions", "factors", "clusters", "aspects"):
            if getattr(self, name):
                fail((name,), f"a quickscan with a 'paired' survey has no {name}")
        if self.closing.grade_question is not None or self.closing.open_questions:
            fail(("closing",), "a quickscan with a 'paired' survey has no closing page")
        if self.paired is not None:
            self.paired.check_scales(default=self.scale)

    def item_ids(self) -> tuple[str, ...]:
        """The ids of the items asked one at a time, in asking order.

        The walkthrough's position while answering indexes this tuple: the questions
        of a quickscan, or a paired survey's experience list and then its importance
        list.
        """
        if self.paired is not None:
            return tuple(item.id for item in self.paired.items())
        return tuple(question.id for question in self.questions)

    def scale_at(self, position: int) -> Scale:
        """The answer scale of the item at ``position`` in :meth:`item_ids`.

        Raises:
            IndexError: There is no item at ``position``.
        """
        if self.paired is not None:
            return self.paired.scale_of(self.paired.items()[position], default=self.scale)
        if not 0 <= position < len(self.questions):
            raise IndexError(position)
        return self.scale

    def factor(self, number: int) -> Factor:
        """Return the factor with this number.

        Raises:
            KeyError: If there is no such factor.
        """
        for factor in self.factors:
            if factor.number == number:
                return factor
        raise KeyError(number)

    def cluster_of(self, factor_number: int) -> Cluster:
        """Return the cluster a factor belongs to, e.g. to group results per grade.

        Raises:
            KeyError: If there is no such factor.
        """
        cluster_id = self.factor(factor_number).cluster
        # Validation guarantees the cluster exists.
        return next(cluster for cluster in self.clusters if cluster.id == cluster_id)

    def questions_of(self, factor_number: int) -> tuple[Question, ...]:
        """Return a factor's questions in file order.

        Raises:
            KeyError: If there is no such factor.
        """
        self.factor(factor_number)
        return tuple(question for question in self.questions if question.factor == factor_number)

    def factors_of(self, cluster_id: str) -> tuple[Factor, ...]:
        """Return a cluster's factors in file order.

        Raises:
            KeyError: If there is no such cluster.
        """
        if not any(cluster.id == cluster_id for cluster in self.clusters):
            raise KeyError(cluster_id)
        return tuple(factor for factor in self.factors if factor.cluster == cluster_id)

    def question_index(self, question_id: str) -> int:
        """Return the 0-based position of a question, e.g. to resume after it.

        Raises:
            KeyError: If there is no such question.
        """
        for index, question in enumerate(self.questions):
            if question.id == question_id:
                return index
        raise KeyError(question_id)

    def subtheme_name(self, question: Question) -> str | None:
        """Return the display name of a question's subtheme, or ``None`` if it has none.

        Raises:
            KeyError: If the question's factor is not part of this quickscan.
        """
        if question.subtheme is None:
            return None
        for subtheme in self.factor(question.factor).subthemes:
            if subtheme.id == question.subtheme:
                return subtheme.name
        raise KeyError(question.subtheme)
