"""The gettext catalogs: every id the code reads is in both languages, no text is empty, the
placeholders match, plural forms follow each language, and the in-memory compile matches the .po."""

import ast
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from reformkpi import i18n

ROOT = Path(__file__).resolve().parents[2]
CALLS = {"t": False, "tm": False, "tn": True, "tnm": True}  # name → reads a plural message
KEYWORDS = {"t": None, "tm": None, "tn": (1,), "tnm": (1,)}


def _code_files():
    for folder in ("reformkpi", "components", "app_pages"):
        yield from (ROOT / folder).rglob("*.py")
    yield from ROOT.glob("*.py")


def _uses():
    """(file, line, id or f-string prefix, is_prefix, plural) for every t/tm/tn/tnm call."""
    for path in _code_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name not in CALLS:
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield path, node.lineno, first.value, False, CALLS[name]
            elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                yield path, node.lineno, first.values[0].value, True, CALLS[name]


def _catalogs():
    return {lang: {m.id if isinstance(m.id, str) else m.id[0]: m for m in i18n.read_catalog(lang) if m.id}
            for lang in i18n.LANGUAGES}


def _fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _forms(message):
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]


def test_every_id_the_code_reads_is_in_both_catalogs_with_its_kind():
    catalogs = _catalogs()
    uses = list(_uses())
    assert len(uses) > 300
    for path, line, key, is_prefix, plural in uses:
        where = f"{path.relative_to(ROOT)}:{line}: {key}"
        for lang, messages in catalogs.items():
            if is_prefix:
                assert any(k.startswith(key) for k in messages), f"{where}… matches no id in {lang}"
            else:
                assert key in messages, f"{where} missing in {lang}"
                assert messages[key].pluralizable == plural, f"{where}: read with {'tn' if plural else 't'}()"


def test_babel_cfg_reaches_every_file_that_reads_a_text():
    """`pybabel extract -F babel.cfg` lists the ids for translators; it skips calls inside f-strings
    and f-string ids, which the ast walk above checks."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options = parse_mapping_cfg(f)
    found = list(extract_from_dir(ROOT, method_map, options, keywords=KEYWORDS))
    files = {Path(name).as_posix() for name, *_ in found}
    assert {p.relative_to(ROOT).as_posix() for p, _, _, is_prefix, _ in _uses() if not is_prefix} <= files
    ids = {m if isinstance(m, str) else m[0] for _, _, m, _, _ in found}
    assert len(ids & set(_catalogs()["en"])) > 300


def test_both_catalogs_hold_the_same_ids_no_empty_text_and_the_same_placeholders():
    vi, en = _catalogs().values()
    assert set(vi) == set(en)
    for key in vi:
        assert vi[key].pluralizable == en[key].pluralizable, key
        fields = _fields(_forms(vi[key])[0])
        for lang, m in (("vi", vi[key]), ("en", en[key])):
            forms = _forms(m)
            assert len(forms) == (({"vi": 1, "en": 2}[lang]) if m.pluralizable else 1), (lang, key)
            for text in forms:
                assert text.strip(), f"{key} is empty in {lang}"
                assert _fields(text) == fields, f"{key} ({lang}): {_fields(text)} != {fields}"


def test_plural_forms_per_language():
    assert i18n.read_catalog("vi").num_plurals == 1 and i18n.read_catalog("en").num_plurals == 2
    assert i18n.tn("focus.more", 1, "en") == "and 1 more unit"
    assert i18n.tn("focus.more", 3, "en") == "and 3 more units"
    assert i18n.tn("focus.more", 1, "vi") == "và 1 đơn vị khác"
    assert i18n.tn("focus.more", 3, "vi") == "và 3 đơn vị khác"
    assert i18n.tn("rankings.bump_title", 1, "en", indicator="SIPAS", first=2019, last=2024) == \
        "SIPAS rank 2019–2024: the 1 least stable unit in colour"
    # a formatted count is shown as given, the plural follows the number
    assert i18n.tn("upload.valid", 1234, "en", file="a.csv", n="1,234") == "File “a.csv” is valid: 1,234 values."
    with pytest.raises(KeyError):
        i18n.t("focus.more", "en")  # a plural message read without its count
    with pytest.raises(KeyError):
        i18n.tn("share.saved", 2, "en", version=1)


def test_compiled_catalog_gives_every_text_of_the_po():
    for lang, messages in _catalogs().items():
        tr = i18n.compile_catalog(i18n.read_catalog(lang))
        for key, m in messages.items():
            forms = _forms(m)
            if m.pluralizable:
                got = [tr.ngettext(key, key, n) for n in ((1, 2) if len(forms) == 2 else (1,))]
            else:
                got = [tr.gettext(key)]
            assert got == forms, (lang, key)


def test_catalog_files_are_in_canonical_form(tmp_path):
    for lang in i18n.LANGUAGES:
        (tmp_path / lang / "LC_MESSAGES").mkdir(parents=True)
        i18n.write_catalog(i18n.read_catalog(lang), lang, tmp_path)
        assert i18n.catalog_path(lang, tmp_path).read_bytes() == i18n.catalog_path(lang).read_bytes()


def test_no_json_text_left_in_locales():
    assert not list(i18n.LOCALES.glob("*/*.json")), "interface text lives in locales/<lang>/LC_MESSAGES/messages.po"
