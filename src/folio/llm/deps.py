from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from folio.llm.registry import LLMRegistry


def llm_registry(request: Request) -> LLMRegistry:
    registry: LLMRegistry = request.app.state.llm
    return registry


RegistryDep = Annotated[LLMRegistry, Depends(llm_registry)]
