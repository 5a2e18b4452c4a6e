"""Patterns that cannot hang (issue 14): admin-entered patterns run on RE2, a linear-time engine; constructs that
need backtracking are refused on the form; every built-in pattern either compiles for RE2 or is shown linear."""

from __future__ import annotations

import importlib
import pkgutil
import re
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.forms import modelform_factory

from profiles.filtering import match_filter_rules
from profiles.models import FieldProcessor, FilterRule, Profile, ProjectMapping
from profiles.patterns import compiled, pattern_problem
from profiles.routing import MessageFacts
from profiles.services import load_profile_config
from profiles.validators import validate_regex, validate_regex_lines

CATASTROPHIC = r"^(\w+\s?)+$"  # the review's pattern: seconds on 24 characters with Python's backtracking engine


def _seconds(func: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_the_catastrophic_subject_filter_takes_no_time(rich_profile) -> None:
    """Regression: an admin's `^(\\w+\\s?)+$` subject block took a worker seconds per mail (issue 14's review)."""
    FilterRule.objects.create(profile=rich_profile, kind="subject_block", pattern=CATASTROPHIC, action="drop")
    config = load_profile_config(rich_profile.pk)
    hostile = MessageFacts(sender="a@b.org", subject="a" * 40 + "!")  # no match: a backtracking engine tries 2**40
    assert _seconds(lambda: match_filter_rules(config, hostile)) < 0.05
    assert match_filter_rules(config, hostile) is None
    hit = match_filter_rules(config, MessageFacts(sender="a@b.org", subject="just words here"))
    assert hit is not None and hit.action == "drop"  # the pattern still means what it says


@pytest.mark.parametrize("size", [24, 1_000, 100_000])
def test_the_catastrophic_pattern_grows_linearly(size: int) -> None:
    pattern = compiled(CATASTROPHIC)
    assert _seconds(lambda: pattern.search("ab " * (size // 3) + "!")) < 0.2


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"(a+)\1", "backreference"),
        (r"(?P<x>a)(?P=x)", "backreference"),
        (r"foo(?=bar)", "lookahead or lookbehind"),
        (r"(?<!no-)reply", "lookahead or lookbehind"),
        (r"(?>a+)b", "atomic group"),
        (r"a++b", "possessive"),
    ],
)
def test_backtracking_constructs_are_refused_with_a_clear_message(pattern: str, words: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_regex(pattern)
    message = " ".join(refused.value.messages)
    assert words in message and "RE2" in message and "linear-time" in message
    with pytest.raises(ValidationError, match="line 2"):
        validate_regex_lines(f"^Re:\n{pattern}")


def test_the_filter_rule_form_shows_why_a_pattern_is_refused(rich_profile) -> None:
    form_class = modelform_factory(FilterRule, fields=["profile", "kind", "pattern", "action"])
    form = form_class({"profile": rich_profile.pk, "kind": "subject_block", "pattern": r"(\w)\1{3}", "action": "drop"})
    assert not form.is_valid()
    assert "backreference" in " ".join(str(error) for error in form.errors["pattern"])
    data = {"profile": rich_profile.pk, "kind": "subject_block", "pattern": CATASTROPHIC, "action": "drop"}
    accepted = form_class(data)
    assert accepted.is_valid(), accepted.errors


def test_python_syntax_that_re2_shares_keeps_working() -> None:
    assert compiled(r"(?P<key>[A-Z]+-\d+)", 0).search("about SUP-12 today").groupdict() == {"key": "SUP-12"}
    assert compiled(r"invoice\Z").search("my invoice") is not None  # Python's \Z is RE2's \z
    assert compiled(r"invoice\Z").search("invoice\nmore") is None
    assert compiled(r"^-- $", re.MULTILINE).search("hi\n-- \nsig") is not None
    assert compiled("ticket").search("TICKET") is not None  # IGNORECASE is the default of configuration
    assert compiled("ticket", 0).search("TICKET") is None
    assert compiled(r"[\\]1").search("\\1") is not None  # an escaped backslash is no backreference
    # \w, \d and \s keep Python's Unicode meaning (RE2's own are ASCII)
    for pattern, text in [(r"^\[\w+\]", "[Größe] x"), (r"[\w-]+$", "é-ü"), (r"\d", "٣"), (r"a\sb", "a\u00a0b")]:
        assert compiled(pattern).search(text) is not None and re.search(pattern, text, re.I) is not None, pattern
    for pattern, text in [(r"\W", "éü"), (r"\D", "٣"), (r"[^\w]", "é"), (r"[]\w]+x", "]éx")]:
        assert (compiled(pattern).search(text) is None) == (re.search(pattern, text, re.I) is None), pattern
    with pytest.raises(re.error):
        compiled("[unclosed")
    assert "is not a valid regular expression" in pattern_problem("[unclosed")


def test_model_cleans_refuse_a_pattern_they_cannot_compile(instance) -> None:
    """A model clean used to call re.compile itself: a refused pattern must be a validation error, not a crash."""
    profile = Profile(instance=instance, name="P", foreign_key_pattern=r"(?<=CASE-)(\d+)")
    with pytest.raises(ValidationError) as refused:
        profile.full_clean()
    assert "lookahead" in str(refused.value.message_dict["foreign_key_pattern"])
    processor = FieldProcessor(name="x", pattern=r"(?P<priority>\w+)(?=!)", target="subject")
    with pytest.raises(ValidationError) as refused:
        processor.full_clean(exclude=["profile"])
    assert "lookahead" in str(refused.value.message_dict["pattern"])


def _regex_fields() -> Iterator[tuple[str, Any, bool]]:
    from django.apps import apps

    for model in apps.get_app_config("profiles").get_models():
        for field in model._meta.concrete_fields:
            for validator in field.validators:
                if validator in (validate_regex, validate_regex_lines):
                    yield f"{model.__name__}.{field.name}", field.get_default(), validator is validate_regex_lines


def test_every_regex_field_is_validated_for_re2_and_its_default_compiles() -> None:
    fields = list(_regex_fields())
    names = {name for name, _, _ in fields}
    assert {"FilterRule.pattern", "Profile.foreign_key_pattern", "ProjectMapping.subject_cleanups"} <= names
    for _name, default, lines in fields:
        if not default:
            continue
        (validate_regex_lines if lines else validate_regex)(str(default))  # raises for a default RE2 refuses


def test_the_default_mapping_fixture_patterns_compile() -> None:
    from tests.profiles.conftest import DEFAULT_MAPPING

    for field in ProjectMapping._meta.concrete_fields:
        if field.name in DEFAULT_MAPPING and validate_regex_lines in field.validators:
            validate_regex_lines(str(DEFAULT_MAPPING[field.name]))


# -- built-in patterns ---------------------------------------------------------------------------------------------

APPS = ("jemh", "profiles", "inbound", "trackers", "notifications", "auditing")


def _builtin_patterns() -> dict[str, re.Pattern]:
    """Every compiled pattern at the top level of a module of the apps, by ``module.NAME``."""
    found: dict[str, re.Pattern] = {}
    seen: set[int] = set()
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in info.name or info.name.endswith("settings_typecheck"):
                continue
            module = importlib.import_module(info.name)
            for name, value in vars(module).items():
                if type(value) is re.Pattern and id(value) not in seen:  # type(): lazy proxies stay unevaluated
                    seen.add(id(value))
                    found[f"{info.name}.{name}"] = value
    return found


def _hostile_texts(pattern: re.Pattern, size: int) -> list[str | bytes]:
    """Long runs of each character the pattern names (and of each with a space or a newline): where a
    backtracking pattern is slow, one of these usually shows it."""
    source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    chars = {c for c in source if c.isprintable()} | {" ", "\t", "\n", "a", "1", "."}
    texts: list[str] = []
    for char in sorted(chars):
        texts.append(char * size)
        texts.append((char + " ") * (size // 2))
        texts.append((char + "\n") * (size // 2))
    if isinstance(pattern.pattern, bytes):
        return [t.encode("latin-1", "replace") for t in texts]
    return list(texts)


def _run_all(pattern: re.Pattern, texts: list) -> None:
    for text in texts:
        for _ in pattern.finditer(text):
            pass


def test_every_builtin_pattern_compiles_for_re2_or_grows_linearly() -> None:
    """A built-in pattern RE2 cannot compile (a lookaround, a possessive quantifier: each chosen with care, the MIME
    library's also in tests/mime/test_linear.py) must stay fast on long hostile runs, and grow linearly."""
    patterns = _builtin_patterns()
    assert len(patterns) > 50  # the walk found the apps' patterns
    backtracking = {}
    for name, pattern in patterns.items():
        if isinstance(pattern.pattern, bytes):
            continue  # byte patterns are the mailer's line-ending fixes: each a single character class
        try:
            compiled(pattern.pattern, pattern.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL))
        except re.error:
            backtracking[name] = pattern
    assert backtracking  # the probe below has work: the lookarounds of the MIME library, at least
    slow = {}
    for name, pattern in backtracking.items():
        small, large = _hostile_texts(pattern, 2_000), _hostile_texts(pattern, 8_000)
        _run_all(pattern, small)  # warm-up
        small_time = _seconds(lambda p=pattern, t=small: _run_all(p, t), runs=1)  # type: ignore[misc]
        large_time = _seconds(lambda p=pattern, t=large: _run_all(p, t), runs=1)  # type: ignore[misc]
        per_text = large_time / len(large)
        if per_text > 0.05 or large_time > 12 * max(small_time, 0.01):  # 4x the text: linear is ~4x the time
            slow[name] = (round(small_time, 3), round(large_time, 3))
    assert not slow, f"built-in patterns that do not grow linearly (seconds at 2k, 8k characters): {slow}"
