from __future__ import annotations

from typing import Annotated

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, EmbedderDep, SessionDep, SettingsDep
from folio.errors import Forbidden
from folio.pagination import InvalidCursor
from folio.routing import Router
from folio.search import service
from folio.search.schemas import SearchRequest, SearchResponse

router = Router(prefix=f"{API_V1}/search", tags=["search"])
Searcher = Annotated[Principal, requires(Scope.SEARCH)]


@router.post(
    "",
    response_model=SearchResponse,
    responses=authenticated(Forbidden, InvalidCursor),
    summary="Search the organization's documents",
    description=(
        "`hybrid` (the default) fuses a keyword ranking (BM25 over PostgreSQL full text, with stemming) and a vector "
        "ranking (cosine similarity of the local embedding model) by reciprocal rank fusion; `keyword` and `vector` "
        "use one side. Only the live version of each document is searched, and only documents that pass every "
        "filter. Each hit carries its document, pages, the chunk text, a highlighted snippet and the score of each "
        "side. Page with `next_cursor`. Every search is logged for analytics."
    ),
)
async def search(
    body: SearchRequest, principal: Searcher, session: SessionDep, settings: SettingsDep, embedder: EmbedderDep
) -> SearchResponse:
    return await service.search(
        session, principal=principal, request=body, embedder=embedder.get(), settings=settings.search
    )
