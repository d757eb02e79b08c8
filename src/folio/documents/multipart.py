"""Read a multipart upload as it streams in: file parts go straight to storage, nothing is held whole."""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from folio.documents.errors import FormTooLarge
from folio.documents.filenames import display_name
from folio.documents.filetypes import media_type_of
from folio.documents.storage import Storage, StorageWriter, StoredFile
from folio.errors import NulCharacter, ValidationFailed

if TYPE_CHECKING:  # the callbacks' TypedDict exists only for type checkers
    from python_multipart.multipart import MultipartCallbacks


@dataclass(frozen=True, slots=True)
class UploadedFile:
    filename: str
    stored: StoredFile


@dataclass
class UploadForm:
    files: list[UploadedFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_file_bytes: int
    max_files: int = 20
    max_field_bytes: int = 64 * 1024
    max_fields: int = 32
    # Everything but file contents: text fields and every part's headers. Bounds what the reader holds in memory.
    max_form_bytes: int = 256 * 1024


async def read_upload(
    body: AsyncIterable[bytes], content_type: str, storage: Storage, limits: UploadLimits
) -> UploadForm:
    """Files of the `files` (or `file`) parts and the text fields; every stored file is removed on error."""
    reader = _Reader(storage, limits)
    try:
        await reader.read(body, content_type)
    except BaseException:
        await reader.discard()
        raise
    if not reader.form.files:
        raise ValidationFailed("Send at least one file in a part named 'files'.")
    return reader.form


class _Reader:
    def __init__(self, storage: Storage, limits: UploadLimits) -> None:
        self.storage = storage
        self.limits = limits
        self.form = UploadForm()
        self.events: list[tuple[str, bytes]] = []
        self.header_name = b""
        self.headers: dict[bytes, bytes] = {}
        self.field_name = ""
        self.field_value = bytearray()
        self.filename: str | None = None
        self.writer: StorageWriter | None = None
        self.form_bytes = 0
        self.fields_seen = 0

    async def read(self, body: AsyncIterable[bytes], content_type: str) -> None:
        media_type, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if media_type != b"multipart/form-data" or not boundary:
            raise ValidationFailed("Send the upload as multipart/form-data.")
        parser = MultipartParser(boundary, self._callbacks())
        async for chunk in body:
            try:
                parser.write(chunk)
            except MultipartParseError as exc:
                raise ValidationFailed(f"The multipart body is malformed: {exc}") from exc
            await self._drain()
        parser.finalize()
        await self._drain()

    def _callbacks(self) -> MultipartCallbacks:
        """The parser calls back synchronously; events are queued and handled (with awaits) after each write."""

        def mark(kind: str) -> Callable[[], None]:
            return lambda: self.events.append((kind, b""))

        def data(kind: str) -> Callable[[bytes, int, int], None]:
            return lambda buffer, start, end: self.events.append((kind, bytes(buffer[start:end])))

        return {
            "on_part_begin": mark("begin"),
            "on_header_field": data("header_field"),
            "on_header_value": data("header_value"),
            "on_header_end": mark("header_end"),
            "on_headers_finished": mark("headers_done"),
            "on_part_data": data("data"),
            "on_part_end": mark("end"),
        }

    async def _drain(self) -> None:
        events, self.events = self.events, []
        for kind, data in events:
            if kind in {"header_field", "header_value"}:
                self._count_form_bytes(len(data))
            if kind == "begin":
                self.headers, self.header_name = {}, b""
            elif kind == "header_field":
                self.header_name += data
            elif kind == "header_value":
                self.headers[self.header_name.lower()] = self.headers.get(self.header_name.lower(), b"") + data
            elif kind == "header_end":
                self.header_name = b""
            elif kind == "headers_done":
                await self._start_part()
            elif kind == "data":
                await self._part_data(data)
            elif kind == "end":
                await self._end_part()

    async def _start_part(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.field_name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        self.filename = None
        self.field_value = bytearray()
        if raw_filename is None:
            self.fields_seen += 1
            if self.fields_seen > self.limits.max_fields:
                raise FormTooLarge(
                    f"At most {self.limits.max_fields} text fields per upload.",
                    details={"max_fields": self.limits.max_fields},
                )
            return
        if self.field_name not in {"files", "file"}:
            raise ValidationFailed(f"Unexpected file in the part '{self.field_name}'; send files as 'files'.")
        if len(self.form.files) >= self.limits.max_files:
            raise ValidationFailed(f"At most {self.limits.max_files} files per upload.")
        self.filename = display_name(raw_filename.decode("utf-8", "replace"))
        self.writer = await self.storage.writer(
            max_bytes=self.limits.max_file_bytes, filename=self.filename, media_type=media_type_of(self.filename)
        )

    async def _part_data(self, data: bytes) -> None:
        if self.writer is not None:
            await self.writer.write(data)
            return
        self._count_form_bytes(len(data))
        self.field_value += data
        if len(self.field_value) > self.limits.max_field_bytes:
            raise ValidationFailed(f"The field '{self.field_name}' exceeds {self.limits.max_field_bytes} bytes.")

    async def _end_part(self) -> None:
        if self.writer is not None and self.filename is not None:
            writer, self.writer = self.writer, None
            self.form.files.append(UploadedFile(self.filename, await writer.commit()))
            return
        try:
            value = self.field_value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(f"The field '{self.field_name}' is not UTF-8 text.") from exc
        if "\x00" in value or "\x00" in self.field_name:
            raise NulCharacter(details={"in": "form", "field": self.field_name.replace("\x00", "")})
        self.form.fields[self.field_name] = value

    def _count_form_bytes(self, size: int) -> None:
        self.form_bytes += size
        if self.form_bytes > self.limits.max_form_bytes:
            raise FormTooLarge(
                f"The upload's text fields and part headers exceed {self.limits.max_form_bytes} bytes.",
                details={"max_bytes": self.limits.max_form_bytes},
            )

    async def discard(self) -> None:
        if self.writer is not None:
            await self.writer.abort()
        for uploaded in self.form.files:
            await self.storage.delete(uploaded.stored.key)
