"""Texts a shop edits and we render (message templates): Jinja2's sandbox, a documented context, checked on save.

Django's template engine is for our own templates only: its tag libraries (`{% load %}`) reach Python objects.
A shop's text is parsed by Jinja2 and its syntax tree is walked before anything runs: only the variables and
fields of a declared shape, a few filters and tests, `if` and one level of `for`; no calls, no arithmetic, no
include/extends/import, no `set`/`macro`. The environment itself is a sandbox with no globals (no `range`),
no loader, no method calls and no `_` attributes, and a render is streamed and stopped past a size and time cap,
so a row stored before these checks cannot hang a worker or produce megabytes either.
"""

import re
import time
from dataclasses import dataclass
from typing import NoReturn

from django.utils.translation import gettext
from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_TESTS
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .errors import TemplateFailed, TemplateRefused

MAX_SOURCE_CHARS = 10_000
MAX_OUTPUT_CHARS = 20_000
MAX_RENDER_SECONDS = 1.0
MAX_LOOP_DEPTH = 1  # a loop inside a loop multiplies output; one level covers "for line in lines"

ALLOWED_FILTERS = (
    "default",
    "d",
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "truncate",
    "length",
    "count",
    "first",
    "last",
    "join",
)
ALLOWED_TESTS = ("none", "string", "number", "even", "odd", "eq", "ne")

TEXT = "text"  # a printable value: a string or a number


@dataclass(frozen=True)
class ListOf:
    item: "Shape"


Shape = str | dict[str, "Shape"] | ListOf

LOOP = dict.fromkeys(("index", "index0", "revindex", "revindex0", "first", "last", "length"), TEXT)

# Tags a shop might try, by the node Jinja2 parses them into; anything not listed is named by its class.
TAG_NAMES = {
    "Include": "include",
    "Extends": "extends",
    "Import": "import",
    "FromImport": "from … import",
    "Macro": "macro",
    "CallBlock": "call",
    "FilterBlock": "filter",
    "With": "with",
    "Assign": "set",
    "AssignBlock": "set",
    "Block": "block",
    "Scope": "autoescape",
    "ScopedEvalContextModifier": "autoescape",
    "EvalContextModifier": "autoescape",
    "ExprStmt": "do",
    "Break": "break",
    "Continue": "continue",
}


class _ShopTextSandbox(ImmutableSandboxedEnvironment):
    # Every operator goes through call_binop, so arithmetic is refused while running too ('x' * 10**9).
    intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%", "**"])
    intercepted_unops = frozenset(["+", "-"])

    def call_binop(self, context, operator, left, right):
        raise SecurityError(f"arithmetic ('{operator}') is not allowed")

    def call_unop(self, context, operator, arg):
        raise SecurityError(f"arithmetic ('{operator}') is not allowed")

    def is_safe_attribute(self, obj, attr, value):
        # The context is plain dicts and lists, read by key; only a loop's counters are attributes.
        return isinstance(obj, LoopContext) and attr in LOOP and super().is_safe_attribute(obj, attr, value)

    def is_safe_callable(self, obj):
        return False  # no method or function calls at all (`.format`, `loop.cycle`, ...)


def _environment() -> _ShopTextSandbox:
    env = _ShopTextSandbox(loader=None, autoescape=False, undefined=StrictUndefined, auto_reload=False)
    env.globals.clear()  # no range, dict, lipsum, cycler, joiner, namespace
    env.filters = {name: DEFAULT_FILTERS[name] for name in ALLOWED_FILTERS}
    env.tests = {name: DEFAULT_TESTS[name] for name in ALLOWED_TESTS}
    return env


ENVIRONMENT = _environment()


def _line(node: nodes.Node | None) -> int | None:
    while node is not None:
        if getattr(node, "lineno", None):
            return node.lineno
        node = next(node.iter_child_nodes(), None)  # some wrappers (autoescape's Scope) carry no line
    return None


def _refuse(node: nodes.Node | None, problem: str) -> NoReturn:
    line = _line(node)
    raise TemplateRefused(
        gettext("Line %(line)s: %(problem)s") % {"line": line, "problem": problem} if line else problem
    )


def _label(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_label(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_label(node.node)}[{node.arg.value!r}]"
    if isinstance(node, nodes.Const):
        return repr(node.value)[:40]
    return "this value"


def _quoted(node: nodes.Node) -> str:
    return _label(node) if isinstance(node, nodes.Const) else f"'{_label(node)}'"


class _Checker:
    """Walks the syntax tree: every name, field, filter, test and tag must be one we allow."""

    def __init__(self, variables: dict[str, Shape]):
        self.variables = variables
        self.scope: dict[str, Shape] = dict(variables)
        self.loop_depth = 0

    # statements

    def statements(self, body: list[nodes.Node]) -> None:
        for node in body:
            self.statement(node)

    def statement(self, node: nodes.Node) -> None:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                if isinstance(child, nodes.TemplateData):
                    continue
                if self.expr(child) != TEXT:
                    _refuse(
                        child,
                        gettext("%(name)s is a group of values: print one of its fields.") % {"name": _quoted(child)},
                    )
        elif isinstance(node, nodes.If):
            self.expr(node.test)
            self.statements(node.body)
            self.statements(node.elif_)
            self.statements(node.else_)
        elif isinstance(node, nodes.For):
            self.loop(node)
        else:
            tag = TAG_NAMES.get(type(node).__name__, type(node).__name__)
            _refuse(node, gettext("the '%(tag)s' tag is not allowed in a message.") % {"tag": tag})

    def loop(self, node: nodes.For) -> None:
        if self.loop_depth >= MAX_LOOP_DEPTH:
            _refuse(node, gettext("a loop inside another loop is not allowed."))
        if node.recursive:
            _refuse(node, gettext("recursive loops are not allowed."))
        if not isinstance(node.target, nodes.Name):
            _refuse(node, gettext("loop over one name, e.g. {% for line in lines %}."))
        items = self.expr(node.iter)
        if not isinstance(items, ListOf):
            _refuse(
                node,
                gettext("%(name)s is not a list; only lists (such as lines) can be looped over.")
                % {"name": _quoted(node.iter)},
            )
        outer = self.scope
        self.scope = {**outer, node.target.name: items.item, "loop": LOOP}
        self.loop_depth += 1
        try:
            if node.test is not None:
                self.expr(node.test)
            self.statements(node.body)
        finally:
            self.loop_depth -= 1
            self.scope = outer
        self.statements(node.else_)

    # expressions: each returns the shape of its value

    def expr(self, node: nodes.Node) -> Shape:
        if isinstance(node, nodes.Name):
            if node.name not in self.scope:
                known = ", ".join(sorted(self.variables))
                _refuse(
                    node,
                    gettext("unknown variable '%(variable)s'. The variables are: %(known)s.")
                    % {"variable": node.name, "known": known},
                )
            return self.scope[node.name]
        if isinstance(node, nodes.Getattr):
            return self.field(node, node.node, node.attr)
        if isinstance(node, nodes.Getitem):
            return self.item(node)
        if isinstance(node, nodes.Const):
            if not isinstance(node.value, str | int | float | bool | type(None)):
                _refuse(node, gettext("this constant is not allowed."))
            return TEXT
        if isinstance(node, nodes.Tuple | nodes.List):  # `x in ('a', 'b')`
            for item in node.items:
                if self.expr(item) != TEXT:
                    _refuse(item, gettext("a list may hold only plain values."))
            return ListOf(TEXT)
        if isinstance(node, nodes.Filter):
            return self.filter(node)
        if isinstance(node, nodes.Test):
            if node.name not in ALLOWED_TESTS:
                _refuse(
                    node,
                    gettext("the test '%(test)s' is not allowed. Allowed tests: %(allowed)s.")
                    % {"test": node.name, "allowed": ", ".join(ALLOWED_TESTS)},
                )
            self.arguments(node)
            self.expr(node.node)
            return TEXT
        if isinstance(node, nodes.Compare):
            self.expr(node.expr)
            for operand in node.ops:
                self.expr(operand.expr)
            return TEXT
        if isinstance(node, nodes.And | nodes.Or):
            left, right = self.expr(node.left), self.expr(node.right)
            return left if left == right else TEXT
        if isinstance(node, nodes.Not):
            self.expr(node.node)
            return TEXT
        if isinstance(node, nodes.CondExpr):
            self.expr(node.test)
            shape = self.expr(node.expr1)
            if node.expr2 is not None and self.expr(node.expr2) != shape:
                return TEXT
            return shape
        if isinstance(node, nodes.Concat):  # `a ~ b`: output grows only with the text itself
            for part in node.nodes:
                self.expr(part)
            return TEXT
        if isinstance(node, nodes.Call):
            _refuse(
                node, gettext("calling functions or methods is not allowed: %(call)s(…).") % {"call": _label(node.node)}
            )
        if isinstance(node, nodes.BinExpr | nodes.UnaryExpr):
            _refuse(
                node, gettext("arithmetic ('%(operator)s') is not allowed in a message.") % {"operator": node.operator}
            )
        _refuse(
            node,
            gettext("this expression (%(kind)s) is not allowed in a message.") % {"kind": type(node).__name__},
        )

    def field(self, node: nodes.Node, base_node: nodes.Node, name: str) -> Shape:
        base = self.expr(base_node)
        if isinstance(base, dict):
            if name in base:
                return base[name]
            fields = ", ".join(sorted(base))
            _refuse(
                node,
                gettext("%(value)s has no field '%(name)s'. Its fields are: %(fields)s.")
                % {"value": _quoted(base_node), "name": name, "fields": fields},
            )
        _refuse(
            node,
            gettext("%(value)s has no fields (asked for '%(name)s').") % {"value": _quoted(base_node), "name": name},
        )

    def item(self, node: nodes.Getitem) -> Shape:
        arg = node.arg
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
            return self.field(node, node.node, arg.value)
        base = self.expr(node.node)
        if isinstance(base, ListOf) and isinstance(arg, nodes.Const) and type(arg.value) is int and arg.value >= 0:
            return base.item
        _refuse(node, gettext("only a fixed field name or list position can be looked up (order['number'], lines[0])."))

    def filter(self, node: nodes.Filter) -> Shape:
        if node.name not in ALLOWED_FILTERS:
            _refuse(
                node,
                gettext("the filter '%(filter)s' is not allowed. Allowed filters: %(allowed)s.")
                % {"filter": node.name, "allowed": ", ".join(ALLOWED_FILTERS)},
            )
        self.arguments(node)
        base = self.expr(node.node)
        if node.name == "join" and not isinstance(base, ListOf):  # joining a text's letters multiplies it
            _refuse(node, gettext("%(name)s is not a list; only lists can be joined.") % {"name": _quoted(node.node)})
        if node.name in ("default", "d"):
            return base
        if node.name in ("first", "last") and isinstance(base, ListOf):
            return base.item
        return TEXT

    def arguments(self, node: nodes.Filter | nodes.Test) -> None:
        if node.kwargs or node.dyn_args or node.dyn_kwargs:
            _refuse(
                node,
                gettext("'%(filter)s' takes only plain arguments in brackets, e.g. default('none').")
                % {"filter": node.name},
            )
        for argument in node.args:
            if self.expr(argument) != TEXT:
                _refuse(
                    argument,
                    gettext("%(argument)s cannot be an argument of '%(filter)s'.")
                    % {"argument": _quoted(argument), "filter": node.name},
                )


def _parse(source: str) -> nodes.Template:
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateRefused(
            gettext("The text is too long (at most %(max_source_chars)s characters).")
            % {"max_source_chars": f"{MAX_SOURCE_CHARS:,}"}
        )
    try:
        return ENVIRONMENT.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRefused(
            gettext("Line %(lineno)s: syntax error: %(problem)s")
            % {"lineno": exc.lineno, "problem": syntax_problem(exc.message or "")}
        ) from exc


# Jinja's parser speaks English; the shop's admin reads the problem in their own language. Its token names become the
# marks the admin typed ('end of print statement' is `}}`).
_TOKENS = {
    "begin of print statement": "{{",
    "end of print statement": "}}",
    "begin of statement block": "{%",
    "end of statement block": "%}",
    "begin of comment": "{#",
    "end of comment": "#}",
}
_SYNTAX_PROBLEMS = [
    (
        re.compile(
            r"Encountered unknown tag '(?P<tag>[^']*)'\..*innermost block that needs to be closed is '(?P<block>\w+)'\."
        ),
        lambda: gettext(
            "'%(tag)s' does not close the open '%(block)s' block: close it first with {%% end%(block)s %%}."
        ),
    ),
    (re.compile(r"Encountered unknown tag '(?P<tag>end\w*)'\."), lambda: gettext("'%(tag)s' closes no open block.")),
    (re.compile(r"Encountered unknown tag '(?P<tag>[^']*)'\..*"), lambda: gettext("unknown tag '%(tag)s'.")),
    (
        re.compile(r"Unexpected end of template\..*innermost block that needs to be closed is '(?P<block>\w+)'\."),
        lambda: gettext("the text ends inside the '%(block)s' block: close it with {%% end%(block)s %%}."),
    ),
    (re.compile(r"Unexpected end of template\..*"), lambda: gettext("the text ends too early.")),
    (
        re.compile(r"unexpected end of template, expected '(?P<token>.+)'\."),
        lambda: gettext("the text ends where %(token)s was expected."),
    ),
    (
        re.compile(r"expected token 'name', got '(?P<got>.*)'"),
        lambda: gettext("a name was expected, not %(got)s."),
    ),
    (
        re.compile(r"expected token '(?P<token>.+)', got ':'"),
        lambda: gettext("%(token)s was expected, not ':'. Filters take arguments in brackets: default('…')."),
    ),
    (
        re.compile(r"expected token '(?P<token>.+)', got '(?P<got>.*)'"),
        lambda: gettext("%(token)s was expected, not %(got)s."),
    ),
    (
        re.compile(r"Expected an expression, got '(?P<got>.*)'"),
        lambda: gettext("a value was expected, not %(got)s."),
    ),
    (
        re.compile(r"unexpected '(?P<got>.+)', expected '(?P<token>.+)'"),
        lambda: gettext("%(token)s was expected, not %(got)s."),
    ),
    (re.compile(r"""unexpected char ("'"|'"') at \d+"""), lambda: gettext("a text in quotes is not closed.")),
    (re.compile(r"unexpected char '(?P<got>.)' at \d+"), lambda: gettext("%(got)s is not allowed here.")),
    (re.compile(r"unexpected '(?P<got>.+)'"), lambda: gettext("%(got)s is not allowed here.")),
    (re.compile(r"tag name expected"), lambda: gettext("a tag name is missing after {%%.")),
    (re.compile(r"Missing end of comment tag"), lambda: gettext("a comment is not closed with #}.")),
    (re.compile(r"Missing end of raw directive"), lambda: gettext("{%% raw %%} is not closed with {%% endraw %%}.")),
    (re.compile(r"expected name or number"), lambda: gettext("a name was expected after the dot.")),
    (
        re.compile(r"Invalid character in identifier"),
        lambda: gettext("a name contains a character that is not allowed."),
    ),
]


def syntax_problem(message: str) -> str:
    """What Jinja's parser found wrong, in the reader's language; an unusual message as Jinja words it."""
    for pattern, problem in _SYNTAX_PROBLEMS:
        found = pattern.fullmatch(message)
        if found:
            parts = {name: _TOKENS.get(value, value) for name, value in found.groupdict().items()}
            for name in ("got", "token"):  # marks and names shown as typed, quoted
                if name in parts:
                    parts[name] = (
                        f"'{parts[name]}'" if parts[name] != "end of template" else gettext("the end of the text")
                    )
            return problem() % parts
    return message


def compile_text(source: str, *, variables: dict[str, Shape]):
    """Parse and check a shop's text against the variables' shapes; returns a sandboxed Jinja2 template."""
    try:
        tree = _parse(source)
        _Checker(variables).statements(tree.body)
        return ENVIRONMENT.from_string(tree)
    except TemplateRefused:
        raise
    except RecursionError as exc:  # parser and compiler recurse once per level of brackets or tags
        raise TemplateRefused(gettext("The text nests brackets or tags too deeply.")) from exc
    except Exception as exc:  # compile-time assertion (e.g. an unknown filter in a branch) names the problem
        raise TemplateRefused(gettext("The text has an error: %(error)s") % {"error": exc}) from exc


def _stream(template, context: dict, *, max_chars: int, max_seconds: float) -> str:
    deadline = time.monotonic() + max_seconds
    parts, size = [], 0
    try:
        for chunk in template.generate(context):
            size += len(chunk)
            if size > max_chars:
                raise TemplateFailed(
                    gettext("The message came out longer than %(max_chars)s characters.")
                    % {"max_chars": f"{max_chars:,}"}
                )
            if time.monotonic() > deadline:
                raise TemplateFailed(
                    gettext("Rendering the message took longer than %(max_seconds)s s.")
                    % {"max_seconds": f"{max_seconds:g}"}
                )
            parts.append(chunk)
    except TemplateFailed:
        raise
    except Exception as exc:  # the shop's text failed on the data (undefined field, type mismatch, sandbox)
        raise TemplateFailed(gettext("The text failed while rendering: %(error)s") % {"error": exc}) from exc
    return "".join(parts)


def check_text(source: str, *, variables: dict[str, Shape], sample: dict) -> None:
    """Refuse on save: check the syntax tree, then render once against sample data with the same caps."""
    template = compile_text(source, variables=variables)
    try:
        _stream(template, sample, max_chars=MAX_OUTPUT_CHARS, max_seconds=MAX_RENDER_SECONDS)
    except TemplateFailed as exc:
        raise TemplateRefused(exc.message) from exc


def render_text(
    source: str,
    *,
    variables: dict[str, Shape],
    context: dict,
    max_chars: int = MAX_OUTPUT_CHARS,
    max_seconds: float = MAX_RENDER_SECONDS,
) -> str:
    """Render a stored text; it is checked again first, since rows may predate (or bypass) the check on save."""
    try:
        template = compile_text(source, variables=variables)
    except TemplateRefused as exc:
        raise TemplateFailed(exc.message) from exc
    return _stream(template, context, max_chars=max_chars, max_seconds=max_seconds)
