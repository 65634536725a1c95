"""Recordings a replay session can name: upload one, list them (see :mod:`api.recordings`)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Request, Response, UploadFile, status
from pydantic import BaseModel, Field, WithJsonSchema

from api.recordings import NAME_PATTERN, RecordingInfo, RecordingStore
from sensors.recording import RECORDING_FORMATS

router = APIRouter(prefix="/api/v1/recordings", tags=["recordings"])

_CHUNK = 256 * 1024


class RecordingOut(BaseModel):
    """A recording in the service's recordings folder."""

    name: str = Field(description="Its name: what a replay session gives as 'recording'")
    size_bytes: int
    uploaded_at: float = Field(description="Unix seconds")
    format: str | None = Field(description="Recording format (null: not read yet)")
    units: str | None = Field(description="Units of a plain file ('ms' or 's'), else null")
    beats: int | None = Field(description="Number of RR intervals (null: not read yet)")
    duration_s: float | None = Field(description="Time of the last beat from the start, s")


class RecordingList(BaseModel):
    """Every stored recording."""

    recordings: list[RecordingOut]
    total: int = Field(description="Recordings stored (all are returned)")


def _out(info: RecordingInfo) -> RecordingOut:
    return RecordingOut(**info.as_dict())


def get_store(request: Request) -> RecordingStore:
    """The service's recordings folder (a route dependency)."""
    store: RecordingStore = request.app.state.recordings
    return store


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordingOut,
    responses={413: {"description": "Over HRVPACE_MAX_RECORDING_BYTES"}},
)
async def upload_recording(
    request: Request,
    file: Annotated[UploadFile, File(description="The RR recording file")],
    format: Annotated[
        str | None,
        Form(
            max_length=32, description="Recording format (sensors.RECORDING_FORMATS); none detects"
        ),
        # the set is fixed: an enum in the schema (a generated client gets its names); the
        # check below keeps its own code, unknown_format, for clients that branch on it
        WithJsonSchema(
            {
                "anyOf": [{"type": "string", "enum": list(RECORDING_FORMATS)}, {"type": "null"}],
                "description": "Recording format; none (null) detects it",
            }
        ),
    ] = None,
    units: Annotated[
        Literal["ms", "s"] | None, Form(description="Units of a plain file (default ms)")
    ] = None,
) -> RecordingOut:
    """Upload an RR recording; answered with the name it is kept under, its beats and duration.

    The file is read before it is kept (an unreadable one is 422 ``recording_unreadable``,
    naming the line); a name already taken is never overwritten, the upload gets the next free
    one (``rest.txt`` -> ``rest-2.txt``).
    """
    if format is not None and format not in RECORDING_FORMATS:
        from api.problems import ProblemError

        raise ProblemError(
            422, "unknown_format", f"unknown format; one of {', '.join(RECORDING_FORMATS)}"
        )
    store = get_store(request)
    tmp = await asyncio.to_thread(store.temp_file)
    try:
        with tmp.open("wb") as out:
            while chunk := await file.read(_CHUNK):
                await asyncio.to_thread(out.write, chunk)
        info = await asyncio.to_thread(
            store.add, tmp, filename=file.filename, format=format, units=units
        )
    finally:
        await file.close()
        with contextlib.suppress(OSError):
            tmp.unlink()
    return _out(info)


@router.get("", response_model=RecordingList)
async def list_recordings(request: Request) -> RecordingList:
    """The recordings a replay session can name, by name."""
    infos = await asyncio.to_thread(get_store(request).list)
    return RecordingList(recordings=[_out(i) for i in infos], total=len(infos))


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={404: {"description": "No recording of that name (recording_not_found)"}},
)
async def delete_recording(
    request: Request,
    name: Annotated[str, Path(max_length=100, pattern=NAME_PATTERN)],
) -> Response:
    """Delete a recording from the folder (sessions that replayed it keep their beats)."""
    await asyncio.to_thread(get_store(request).delete, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
