"""A client command's connection to the server: the SDK's `Folio`, and its errors turned into messages on stderr
and exit codes. The SDK is imported here, when a command runs, not when `folio --help` builds the command list."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from folio.cli.config import resolve
from folio.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, fail

if TYPE_CHECKING:
    from folio_client import Folio


@contextmanager
def connect(server: str | None, api_key: str | None, *, interrupted: str = "Interrupted.") -> Iterator[Folio]:
    """The SDK's client of the resolved server and key. A Folio error raised in the block is printed (its code,
    message and request id) and exits: 2 when the server cannot be reached, refuses the key or the request as
    malformed; 1 for any other failure. Ctrl-C prints `interrupted` and exits 130."""
    target = resolve(server, api_key)
    from folio_client import (
        APIConnectionError,
        AuthenticationError,
        BadRequestError,
        Folio,
        FolioError,
        InvalidRequestError,
        PermissionDeniedError,
    )

    try:
        with Folio(target.server, api_key=target.api_key) as folio:
            yield folio
    except APIConnectionError as error:
        reason = str(error.__cause__ or "") or error.message
        fail(f"Cannot reach the Folio server at {target.server} ({reason}). Is it running? Check --server.", EXIT_USAGE)
    except (AuthenticationError, PermissionDeniedError) as error:
        fail(f"The server refused the API key ({error}).", EXIT_USAGE)
    except (BadRequestError, InvalidRequestError) as error:
        fail(str(error), EXIT_USAGE)
    except FolioError as error:
        fail(str(error), EXIT_FAILED)
    except KeyboardInterrupt:
        fail(interrupted, EXIT_INTERRUPTED)
