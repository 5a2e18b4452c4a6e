"""A paginator for audit tables that grow forever: it never counts the whole (filtered) table.

Django's paginator runs ``COUNT(*)`` over every row a filter matches, on every page: at a million audit rows that
one query costs more than the page. ``ProbingPaginator`` counts only as far as a few pages past the one asked for
(``SELECT COUNT(*) FROM (... LIMIT n)``, read from the index that serves the list's order), so a page costs the
same at 100,000 rows as at 10,000,000. The list then says "more than N" instead of a total it does not know."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

LOOKAHEAD_PAGES = 4  # pages offered past the current one


class ProbingPaginator(Paginator):
    """Counts up to ``LOOKAHEAD_PAGES`` pages past ``page_number`` (and one row more, to know that more follow)."""

    def __init__(self, object_list: QuerySet[Any], per_page: int, page_number: int = 1, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(page_number, 1)
        self.more = False

    @cached_property
    def count(self) -> int:
        limit = (self.page_number + LOOKAHEAD_PAGES) * self.per_page
        counted = self.object_list[: limit + 1].count()  # type: ignore[attr-defined]  # a QuerySet (see __init__)
        self.more = counted > limit
        return min(counted, limit)


def requested_page(request: HttpRequest) -> int:
    """The page number the admin's changelist will show (its ``p`` parameter, 1-based)."""
    try:
        return int(request.GET.get("p", 1))
    except ValueError:
        return 1
