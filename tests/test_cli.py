"""The real CLI, run as a subprocess."""

import hashlib
import json

import pytest
from conftest import BAD, LETTERS, ORIGINALS

LETTER = LETTERS / "004_fc97f7610c159615.txt"


def test_one_file_prints_one_pretty_json_record_and_nothing_else(cli):
    result = cli("extract", LETTER)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert result.stdout.startswith("{\n")
    assert record["case_number"] == "CM14-0037910"
    assert record["source"]["sha256"] == hashlib.sha256(LETTER.read_bytes()).hexdigest()
    assert record["extractor"] == {"backend": "rules", "model": None, "prompt_version": None}


def test_default_command_is_extract(cli):
    assert json.loads(cli(LETTER).stdout)["case_number"] == "CM14-0037910"


def test_several_files_print_json_lines(cli):
    result = cli("extract", *ORIGINALS)
    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert len(lines) == len(ORIGINALS)
    assert [json.loads(line)["source"]["path"] for line in lines] == [str(p) for p in ORIGINALS]


def test_compact_prints_one_line(cli):
    assert len(cli("extract", "--compact", LETTER).stdout.splitlines()) == 1


def _undecodable(tmp_path):
    path = tmp_path / "undecodable.txt"
    path.write_bytes(b"HOW THE IMR FINAL DETERMINATION WAS MADE \x81\x8d\x8f\x90\x9d")
    return path


BAD_INPUTS = {
    "missing": (lambda tmp: tmp / "nope.txt", "no such file"),
    "directory": (lambda tmp: tmp, "is a directory"),
    "empty": (lambda tmp: BAD / "empty.txt", "empty file"),
    "whitespace": (lambda tmp: BAD / "whitespace_only.txt", "empty file"),
    "binary": (lambda tmp: BAD / "binary.txt", "binary file"),
    "undecodable": (_undecodable, "undecodable bytes"),
    "not imr": (lambda tmp: BAD / "recipe.txt", "not an IMR letter"),
    # they quote the 2013 layouts' titles, headings and decision sentences
    "news article": (lambda tmp: BAD / "not_imr_news_article.txt", "not an IMR letter"),
    "appeal letter": (lambda tmp: BAD / "not_imr_appeal_letter.txt", "not an IMR letter"),
    "not a pdf": (lambda tmp: BAD / "not_a_pdf.pdf", "unreadable PDF"),
    "corrupt pdf": (lambda tmp: BAD / "corrupt.pdf", "unreadable PDF"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_no_traceback(cli, tmp_path, name):
    make, message = BAD_INPUTS[name]
    result = cli("extract", make(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_bad_file_in_a_list_loses_nothing_already_done(cli, tmp_path):
    result = cli("extract", ORIGINALS[0], BAD / "binary.txt", ORIGINALS[1])
    assert result.returncode == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source"]["path"] for r in records] == [str(ORIGINALS[0]), str(ORIGINALS[1])]
    assert "binary file" in result.stderr


def test_pdf_letter_extracts(cli):
    record = json.loads(cli("extract", LETTERS / "v-pdf--003_a451431fba358ec9.pdf").stdout)
    assert record["source"]["format"] == "pdf"
    assert [i["treatment"] for i in record["items"]] == [
        "4 TRIGGER POINT INJECTIONS", "120 FEXMID 7.5MG", "120 NORCO 10/325MG", "30 RESTORIL 15MG"]


def test_cp1252_letter_warns_on_stderr_free_stdout(cli):
    result = cli("extract", LETTERS / "v-cp1252--000_5af06fd8d99aadee.txt")
    record = json.loads(result.stdout)
    assert "not valid UTF-8; decoded as cp1252" in record["warnings"]


def test_schema_command_prints_the_record_json_schema(cli):
    schema = json.loads(cli("schema").stdout)
    assert schema["title"] == "Record"
    assert {"source", "extractor", "items", "evidence", "rejected"} <= set(schema["properties"])


def test_llm_backend_without_model_is_a_usage_error(cli):
    result = cli("extract", "--backend", "llm", LETTER, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "needs --model" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["extract", "schema"])
def test_help_on_every_command(cli, command):
    result = cli(command, "--help")
    assert result.returncode == 0 and "Usage:" in result.stdout
