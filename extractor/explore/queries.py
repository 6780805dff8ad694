"""The example queries (queries.toml): Datasette's canned queries, and the text of
docs/queries.md and the README's query section (generated with cog)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    description: str
    sql: str
    readme: bool


def load() -> list[Query]:
    data = tomllib.loads(files("extractor.explore").joinpath("queries.toml").read_text("utf-8"))
    return [Query(name, q["title"], q["description"], q["sql"].strip("\n"), q["readme"])
            for name, q in data.items()]


def shell_command(query: Query) -> str:
    """The query as a `sqlite-utils` command line (the SQL has no double quote)."""
    assert '"' not in query.sql, query.name
    return f'sqlite-utils results.db "\n{query.sql}" --table'


def markdown(heading: str = "##", readme_only: bool = False, descriptions: bool = True) -> str:
    """Markdown sections, one per query: a heading, its description, the command."""
    parts = []
    for q in load():
        if readme_only and not q.readme:
            continue
        if heading:
            parts.append(f"{heading} {q.title}\n")
        else:
            parts.append(f"{q.title}:\n")
        if descriptions:
            parts.append(q.description + "\n")
        parts.append(f"```sh\n{shell_command(q)}\n```\n")
    return "\n".join(parts)
