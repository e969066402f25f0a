"""Find the words of a template that a translator never sees: text outside {% translate %} / {% blocktranslate %}.

Pragmatic on purpose. The template is lexed with Django's own lexer; every tag and variable becomes a blank, text inside
{% blocktranslate %} and {% comment %} is dropped, and so is everything inside <script>, <style>, <code> and <pre>. What is left is HTML:
its tags are removed, except for the attributes people read (placeholder, title, aria-label, alt, data-confirm, and
the value of a button-like input), and whatever alphabetic words remain are reported. Things that are not words in any
language (OMS, CSV, ...) are allowed by name.
"""

import re
from pathlib import Path

from django.conf import settings
from django.template.base import Lexer, TokenType

# Attributes whose value a person reads or hears.
READ_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "data-confirm", "label", "aria-description")
# Words that are the same in every language the interface ships in: names and abbreviations.
NOT_WORDS = {"OMS", "CSV", "PDF", "API", "SKU", "EAN", "HTML", "JSON", "UTC", "URL", "HMAC", "SHA", "POST", "LTV"}

BLANK = "\x00"
TAG = re.compile(r"<(?!!--)(/?[a-zA-Z][^>]*)>", re.S)
COMMENT = re.compile(r"<!--.*?-->", re.S)
# Not words for a translator: scripts, styles, code and sample data.
RAW = re.compile(r"<(script|style|code|pre|samp)\b[^>]*>.*?</\1>|<!doctype[^>]*>", re.S | re.I)
ATTRIBUTE = re.compile(r"""([a-zA-Z-:]+)\s*=\s*("[^"]*"|'[^']*')""")
WORD = re.compile(r"[^\W\d_]{2,}")
ENTITY = re.compile(r"&[a-zA-Z]+;|&#\d+;")


def template_files():
    roots = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    roots += sorted(Path(settings.BASE_DIR).glob("*/templates"))
    for root in roots:
        yield from sorted(root.rglob("*.html"))


# A literal a person reads, passed inside a tag: `default:"never"`, `yesno:"yes,no"`, `with title="Funnel"`.
FILTER_LITERAL = re.compile(r"""\b(?:default|default_if_none|yesno)\s*:\s*("[^"]*"|'[^']*')""")
WITH_LITERAL = re.compile(r"""\b\w+=("[^"]*"|'[^']*')""")


def literals_read(source: str) -> list[str]:
    """String literals inside {{ }} and {% include/with %} that people read and no translator sees (`_("...")` is seen)."""
    found, before = [], ""
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.TEXT:
            before = token.contents
        if token.token_type not in (TokenType.BLOCK, TokenType.VAR):
            continue
        inside = re.search(r"""([\w:-]+)=["'][^"']*$""", before)
        if inside and inside.group(1).lower() not in READ_ATTRIBUTES:
            continue  # the value of an attribute nobody reads: data-state="{{ job.state|default:'none' }}"
        name = token.contents.split(" ", 1)[0]
        if name in ("translate", "trans", "blocktranslate", "blocktrans", "url", "partialdef"):
            continue
        for literal in FILTER_LITERAL.findall(token.contents):
            if words_of(literal):
                found.append(token.contents)
        if name in ("include", "with"):
            for literal in WITH_LITERAL.findall(token.contents):
                value = literal[1:-1]
                if words_of(value) and (" " in value or value != value.lower()) and not value.endswith(".html"):
                    found.append(token.contents)
    return found


def without_tags(source: str) -> str:
    """The template's text with every tag and variable blanked and translated/comment blocks removed."""
    out, skip = [], None
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split(" ", 1)[0]
            if skip:
                if name == skip or (skip == "endblocktranslate" and name in ("endblocktrans",)):
                    skip = None
                continue
            if name in ("blocktranslate", "blocktrans"):
                skip = "endblocktranslate" if name == "blocktranslate" else "endblocktrans"
                out.append(BLANK)
                continue
            if name == "comment":
                skip = "endcomment"
                continue
            if name == "block" and token.contents.split()[1].endswith(("_class", "style")):
                skip = "endblock"  # {% block main_class %}narrow{% endblock %}, {% block style %}: CSS
                continue
            out.append(BLANK)
        elif token.token_type == TokenType.TEXT and not skip:
            out.append(token.contents)
        elif not skip:
            out.append(BLANK)
    return "".join(out)


def words_of(text: str) -> list[str]:
    text = ENTITY.sub(" ", text)
    return [w for w in WORD.findall(text) if w not in NOT_WORDS]


def untranslated(source: str) -> list[str]:
    """Each piece of text (or attribute="value") in the template whose words no translator sees."""
    text = RAW.sub(BLANK, COMMENT.sub(BLANK, without_tags(source)))
    found = []
    for tag in TAG.findall(text):
        for name, value in ATTRIBUTE.findall(tag):
            is_read = name.lower() in READ_ATTRIBUTES
            is_button_value = (
                name.lower() == "value" and tag.startswith("input") and re.search(r"type=.(submit|button|reset)", tag)
            )
            if (is_read or is_button_value) and words_of(value):
                found.append(f"{name}={value}")
    for piece in TAG.sub(BLANK, text).split(BLANK):
        if words_of(piece):
            found.append(" ".join(piece.split()))
    return found + literals_read(source)


def report() -> dict[str, list[str]]:
    base = Path(settings.BASE_DIR)
    result = {}
    for path in template_files():
        if found := untranslated(path.read_text()):
            result[str(path.relative_to(base))] = found
    return result


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    django.setup()
    total = 0
    for name, found in report().items():
        total += len(found)
        print(f"{name} ({len(found)})")
        for piece in found:
            print("    ", piece[:140])
    print("total", total)
