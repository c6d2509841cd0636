"""The problem+json document as a schema, for API docs and typed clients."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProblemDetails(BaseModel):
    """An RFC 9457 problem document, with mic-kit's `code` and `details` extension members."""

    model_config = ConfigDict(extra="allow", frozen=True, title="ProblemDetails")

    type: str = Field("about:blank", description="URI reference identifying the problem type")
    title: str = Field(description="Short summary of the problem type (the HTTP reason phrase)")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="Explanation specific to this occurrence")
    code: str = Field(description="Stable machine-readable error code")
    details: dict[str, Any] = Field(default_factory=dict, description="Structured context")


PROBLEM_SCHEMA: dict[str, Any] = ProblemDetails.model_json_schema()
