"""Stored records of the science.

An assessment event as ``GET .../breathing/assessments`` lists it (the event with its row id
and storage time).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from api.payloads.guidance import AssessmentDone, AssessmentStepDone, AssessmentStopped

__all__ = [
    "AssessmentRecord",
    "StoredAssessmentComplete",
    "StoredAssessmentStep",
    "StoredAssessmentStopped",
]


class StoredAssessmentStep(AssessmentStepDone):
    """A finished assessment step, as stored."""

    id: int = Field(description="Row id (increasing in storage order).")
    recorded_at: float = Field(description="When it was stored, Unix seconds.")


class StoredAssessmentComplete(AssessmentDone):
    """A finished assessment's verdict, as stored."""

    id: int = Field(description="Row id (increasing in storage order).")
    recorded_at: float = Field(description="When it was stored, Unix seconds.")


class StoredAssessmentStopped(AssessmentStopped):
    """An assessment abandoned before its verdict, as stored."""

    id: int = Field(description="Row id (increasing in storage order).")
    recorded_at: float = Field(description="When it was stored, Unix seconds.")


#: A stored assessment event, told apart by ``type``.
AssessmentRecord = Annotated[
    StoredAssessmentStep | StoredAssessmentComplete | StoredAssessmentStopped,
    Field(discriminator="type"),
]
