"""The drug vocabulary of `drug-named-entity-recognition`, as a SQLite index.

The library ships its vocabulary as a bzip2'd pickle: 0.3-0.5 s to read, and its own
import builds a fuzzy-match index besides (1.6 s in all). Every batch worker and every
one-off `extract` of a medication letter would pay that. So the first use reads the
data file once (without importing the library) into a SQLite file in the user's cache
directory, named for the library's version; later uses open it and look names up
(microseconds each). Where the cache directory cannot be written, the data file is
read into memory instead. The index holds drug names only, never letter text.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

from extractor.errors import ImrError
from extractor.privacy import private_file

PACKAGE, DISTRIBUTION = "drug_named_entity_recognition", "drug-named-entity-recognition"
DATA_FILE = "drug_ner_dictionary.pkl.bz2"
INDEX_ENV = "IMR_EXTRACT_VOCABULARY"  # where the index goes [default: the user cache dir]
FORMAT = 1  # of our index; a change makes a new file


class Vocabulary:
    """variant name -> canonical names; canonical name -> (name, DrugBank id)."""

    _opened: Vocabulary | None = None
    _lock = threading.Lock()

    def __init__(self, path: Path | None, memory: tuple[dict, dict] | None = None):
        self.path, self.memory = path, memory
        self.local = threading.local()  # one connection per thread (the service has several)

    @classmethod
    def open(cls) -> Vocabulary:
        with cls._lock:
            if cls._opened is None:
                cls._opened = cls._open()
            return cls._opened

    @classmethod
    def _open(cls) -> Vocabulary:
        path = index_path()
        if not path.exists():
            try:
                build(path)
            except OSError:  # no writable cache directory: read the data into memory
                return cls(None, _read_data())
        return cls(path)

    def canonicals(self, variant: str) -> list[str]:
        if self.memory is not None:
            return self.memory[0].get(variant, [])
        row = self._db().execute("select canonicals from variants where variant = ?",
                                 (variant,)).fetchone()
        return json.loads(row[0]) if row else []

    def entry(self, canonical: str) -> tuple[str | None, str | None]:
        if self.memory is not None:
            data = self.memory[1].get(canonical, {})
            return data.get("name"), data.get("drugbank_id")
        row = self._db().execute("select name, drugbank_id from canonicals where canonical = ?",
                                 (canonical,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def _db(self) -> sqlite3.Connection:
        # one connection per thread and per process: a connection must not cross a fork
        if getattr(self.local, "pid", None) != os.getpid():
            self.local.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            self.local.pid = os.getpid()
        return self.local.db


def index_path() -> Path:
    import importlib.metadata  # here, not at start-up: 12 ms (email, inspect...)

    version = importlib.metadata.version(DISTRIBUTION)
    name = f"drug-vocabulary-{version}-{FORMAT}.db"
    if os.environ.get(INDEX_ENV):
        return Path(os.environ[INDEX_ENV]) / name
    import platformdirs

    return Path(platformdirs.user_cache_dir("imr-extract")) / name


def build(path: Path) -> None:
    """Write the index next to `path` and move it into place: two processes building
    at once each write their own file, and the last move wins, whole."""
    variants, canonicals = _read_data()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    private_file(tmp)
    with closing(sqlite3.connect(tmp)) as db:
        db.execute("create table variants (variant text primary key, canonicals text) "
                   "without rowid")
        db.executemany("insert into variants values (?, ?)",
                       ((v, json.dumps(c)) for v, c in variants.items()))
        db.execute("create table canonicals (canonical text primary key, name text, "
                   "drugbank_id text) without rowid")
        db.executemany("insert into canonicals values (?, ?, ?)",
                       ((c, d.get("name"), d.get("drugbank_id")) for c, d in canonicals.items()))
        db.commit()
    os.replace(tmp, path)


def _read_data() -> tuple[dict, dict]:
    """The library's data file, read without importing the library (its __init__ builds
    the fuzzy index)."""
    import bz2
    import importlib.util
    import pickle

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImrError(f"the drug vocabulary is not installed: pip install {DISTRIBUTION}")
    with bz2.open(Path(spec.submodule_search_locations[0], DATA_FILE)) as f:
        data = pickle.load(f)  # the installed package's own data file
    return data["drug_variant_to_canonical"], data["drug_canonical_to_data"]
