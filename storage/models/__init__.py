"""The tables, one module per aggregate; importing the package registers them all.

``Base.metadata`` (Alembic's autogenerate, the tests' schema checks) only knows a
table once its module is imported, so this package imports every table module.
"""

from storage.models import checklist, delivery, plans, quickscan, roster, schedule
from storage.models.base import Base

__all__ = ["Base", "checklist", "delivery", "plans", "quickscan", "roster", "schedule"]
