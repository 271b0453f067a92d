"""Instruments (quickscan, checklist) as validated data files.

The quickscan exists in variants for primary (po), secondary (vo) and vocational (mbo)
education that differ only in their wording. Keeping every instrument in a YAML file
means a school adds a variant by dropping in a file, without touching code. Because a
broken file would otherwise surface only halfway through somebody's quickscan, every
file is loaded and fully cross-checked at start, and each problem is reported with the
file and the field path so the person editing the YAML can find it.

The models are frozen so that an instrument, once loaded, can be shared between all
conversations without anybody changing it underneath the others.

The package is split by responsibility: the shared building blocks and the scale
(``base``), the quickscan (``quickscan``), the paired survey of experience and
importance that a quickscan may carry instead of questions (``paired``), the
checklist (``checklist``), reading
and cross-checking files (``loading``) and the ids answers are stored under
(``item_ids``). Callers import from the package itself.
"""

from __future__ import annotations

from conversations.instrument.base import Scale, ScaleOption
from conversations.instrument.checklist import Checklist, ChecklistGroup, Statement
from conversations.instrument.item_ids import (
    GRADE_PREFIX,
    OPEN_PREFIX,
    grade_item_id,
    open_item_id,
)
from conversations.instrument.loading import (
    Instrument,
    InstrumentError,
    load_instrument,
    load_instruments,
    packaged_dir,
)
from conversations.instrument.paired import (
    Categories,
    Category,
    Instruction,
    Pair,
    PairedItem,
    PairedSurvey,
    Section,
    SurveyList,
)
from conversations.instrument.quickscan import (
    Aspect,
    ClosingPage,
    Cluster,
    Factor,
    OpenQuestion,
    Question,
    Quickscan,
    SubTheme,
)

__all__ = [
    "GRADE_PREFIX",
    "OPEN_PREFIX",
    "Aspect",
    "Categories",
    "Category",
    "Checklist",
    "ChecklistGroup",
    "ClosingPage",
    "Cluster",
    "Factor",
    "Instrument",
    "Instruction",
    "InstrumentError",
    "OpenQuestion",
    "Pair",
    "PairedItem",
    "PairedSurvey",
    "Question",
    "Quickscan",
    "Scale",
    "ScaleOption",
    "Section",
    "Statement",
    "SubTheme",
    "SurveyList",
    "grade_item_id",
    "load_instrument",
    "load_instruments",
    "open_item_id",
    "packaged_dir",
]
