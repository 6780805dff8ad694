"""The Batch API through the `openai` client: upload a request file, create a batch,
look at it, download its output and error files, delete them.

The API key is the client's (OPENAI_API_KEY): never written to the database, a file or
a message (client.client registers it with privacy.redact). Errors are reported as the
status code and error type, never the server's message (client.describe).
Downloads are streamed to a file created 0600, never held in memory.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

from extractor.backends.model import client as model_client
from extractor.errors import ModelError

ENDED = ("completed", "failed", "expired", "cancelled")
WINDOW = "24h"
CHUNK = 1 << 20


@dataclass
class Remote:
    id: str
    status: str
    input_file_id: str | None
    output_file_id: str | None
    error_file_id: str | None
    errors: list[str]            # the batch's own error codes (a failed batch says why)


class Provider:
    def __init__(self, base_url: str | None, api_key: str | None = None, timeout: float = 300):
        self.base_url = base_url
        self.client = model_client.client(base_url, api_key, timeout)

    def _call(self, what: str, fn, *args, **kwargs):
        import openai

        try:
            return fn(*args, **kwargs)
        except openai.APIError as e:
            raise ModelError(f"Batch API at {model_client.shown_url(self.base_url)}: {what} "
                             f"failed: {model_client.describe(e)}") from None

    def upload(self, path: str) -> str:
        with open(path, "rb") as f:
            return self._call("upload", self.client.files.create, file=f, purpose="batch").id

    def create(self, input_file_id: str, metadata: dict[str, str]) -> str:
        batch = self._call("create batch", self.client.batches.create,
                           input_file_id=input_file_id, endpoint="/v1/chat/completions",
                           completion_window=WINDOW, metadata=metadata)
        return batch.id

    def get(self, batch_id: str) -> Remote:
        return _remote(self._call("look up batch", self.client.batches.retrieve, batch_id))

    def find(self, input_file_id: str) -> Remote | None:
        """The batch made from this uploaded file, if one was (a kill may have come
        between creating it and recording its id)."""
        for batch in self._call("list batches", self.client.batches.list, limit=100):
            if batch.input_file_id == input_file_id:
                return _remote(batch)
        return None

    def download(self, file_id: str, folder: str) -> str:
        """The file's content, streamed into a new 0600 file in `folder`; its path."""
        fd, path = tempfile.mkstemp(prefix=".imr-extract-answers-", suffix=".jsonl", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                self._stream(file_id, out)
        except BaseException:
            os.unlink(path)
            raise
        return path

    def _stream(self, file_id: str, out) -> None:
        def copy():
            with self.client.files.with_streaming_response.content(file_id) as response:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
        self._call("download", copy)

    def delete(self, file_id: str) -> None:
        import openai

        try:
            self.client.files.delete(file_id)
        except openai.NotFoundError:
            pass  # gone already (deleted by an earlier collect that was killed after it)
        except openai.APIError as e:
            raise ModelError(f"Batch API: delete failed: {model_client.describe(e)}") from None


def _remote(batch) -> Remote:
    errors = getattr(getattr(batch, "errors", None), "data", None) or []
    return Remote(batch.id, batch.status, batch.input_file_id, batch.output_file_id,
                  batch.error_file_id, [str(e.code) for e in errors if getattr(e, "code", None)])
