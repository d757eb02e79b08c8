"""Summaries of documents (`/documents/{id}/summaries`, `/summaries`), written by jobs."""

from __future__ import annotations

from uuid import UUID

from folio_client._core import Call, Core, Flow, path
from folio_client.models import Summary, SummaryFormat, SummaryLength, SummaryStatus
from folio_client.pagination import AsyncPager, PageData, SyncPage
from folio_client.resources._base import AsyncResource, SyncResource, query


def _create(
    core: Core,
    document_id: UUID | str,
    *,
    template_id: UUID | str | None,
    instructions: str | None,
    format: SummaryFormat | None,
    length: SummaryLength | None,
    language: str | None,
) -> Flow[Summary]:
    fields = {
        "template_id": template_id,
        "instructions": instructions,
        "format": format,
        "length": length,
        "language": language,
    }
    body = {name: value for name, value in fields.items() if value is not None}
    return core.fetch(Call("POST", path("/documents/{}/summaries", document_id), json=body), Summary)


def _list(
    core: Core,
    cursor: str | None,
    *,
    document_id: UUID | str | None,
    template_id: UUID | str | None,
    status: SummaryStatus | None,
    limit: int | None,
) -> Flow[PageData[Summary]]:
    params = query(document_id=document_id, template_id=template_id, status=status, limit=limit, cursor=cursor)
    return core.fetch(Call("GET", path("/summaries"), params=params), PageData[Summary])


def _get(core: Core, summary_id: UUID | str) -> Flow[Summary]:
    return core.fetch(Call("GET", path("/summaries/{}", summary_id)), Summary)


def _regenerate(core: Core, summary_id: UUID | str) -> Flow[Summary]:
    return core.fetch(Call("POST", path("/summaries/{}/regenerate", summary_id)), Summary)


def _delete(core: Core, summary_id: UUID | str) -> Flow[None]:
    yield from core.send(Call("DELETE", path("/summaries/{}", summary_id)))


class Summaries(SyncResource):
    def create(
        self,
        document_id: UUID | str,
        *,
        template_id: UUID | str | None = None,
        instructions: str | None = None,
        format: SummaryFormat | None = None,
        length: SummaryLength | None = None,
        language: str | None = None,
    ) -> Summary:
        """Start summarising a document; wait for its `job_id` with `jobs.wait`, then `get` it for the text."""
        return self._run(
            _create(
                self._core,
                document_id,
                template_id=template_id,
                instructions=instructions,
                format=format,
                length=length,
                language=language,
            )
        )

    def list(
        self,
        *,
        document_id: UUID | str | None = None,
        template_id: UUID | str | None = None,
        status: SummaryStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SyncPage[Summary]:
        return self._pages(
            lambda at: _list(
                self._core, at, document_id=document_id, template_id=template_id, status=status, limit=limit
            ),
            cursor,
        )

    def get(self, summary_id: UUID | str) -> Summary:
        return self._run(_get(self._core, summary_id))

    def regenerate(self, summary_id: UUID | str) -> Summary:
        return self._run(_regenerate(self._core, summary_id))

    def delete(self, summary_id: UUID | str) -> None:
        self._run(_delete(self._core, summary_id))


class AsyncSummaries(AsyncResource):
    async def create(
        self,
        document_id: UUID | str,
        *,
        template_id: UUID | str | None = None,
        instructions: str | None = None,
        format: SummaryFormat | None = None,
        length: SummaryLength | None = None,
        language: str | None = None,
    ) -> Summary:
        return await self._run(
            _create(
                self._core,
                document_id,
                template_id=template_id,
                instructions=instructions,
                format=format,
                length=length,
                language=language,
            )
        )

    def list(
        self,
        *,
        document_id: UUID | str | None = None,
        template_id: UUID | str | None = None,
        status: SummaryStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AsyncPager[Summary]:
        return self._pages(
            lambda at: _list(
                self._core, at, document_id=document_id, template_id=template_id, status=status, limit=limit
            ),
            cursor,
        )

    async def get(self, summary_id: UUID | str) -> Summary:
        return await self._run(_get(self._core, summary_id))

    async def regenerate(self, summary_id: UUID | str) -> Summary:
        return await self._run(_regenerate(self._core, summary_id))

    async def delete(self, summary_id: UUID | str) -> None:
        await self._run(_delete(self._core, summary_id))
