"""A small, strict TMDL reader: enough of the language to read back what ``tmdl.py`` writes and check it.

It reads the structure Power BI Desktop itself writes: tab indentation (one tab per level), objects
declared as ``<type> <name>`` with an optional ``= <expression>``, properties as ``key: value``, flags as
a bare word (``isHidden``), expression properties as ``key = <expression>``, ``///`` descriptions above
an object, and multi-line expressions indented two tabs deeper than the line that ends in ``=``. Anything
else (space indentation, a jump of more than one level, a repeated property) is an error with its line,
so a corrupted file fails loudly instead of being half read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

OBJECT_TYPES = frozenset(
    {
        "database",
        "model",
        "table",
        "column",
        "measure",
        "partition",
        "relationship",
        "expression",
        "annotation",
        "hierarchy",
        "level",
        "role",
        "tablePermission",
        "columnPermission",
        "member",
        "perspective",
        "culture",
        "cultureInfo",
        "calculationGroup",
        "calculationItem",
        "queryGroup",
        "dataSource",
        "ref",
    }
)


class TmdlError(ValueError):
    pass


@dataclass
class Node:
    type: str
    name: str | None
    expression: str | None = None  # after "=" on the declaration line (or the block below it)
    description: str | None = None
    properties: dict[str, str | bool] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    source: str = ""
    line: int = 0

    def of_type(self, type_: str) -> list[Node]:
        return [child for child in self.children if child.type == type_]

    def child(self, type_: str, name: str) -> Node | None:
        return next((c for c in self.children if c.type == type_ and c.name == name), None)


_PROPERTY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*:\s?(.*)$")
_EXPRESSION_PROPERTY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.*)$")
_FLAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_UNQUOTED = re.compile(r"[^\s=:'.]+")


def read_name(text: str, pos: int = 0) -> tuple[str, int]:
    """A name at ``pos``: '...' with '' for a quote, or a bare run of non-space characters; (name, end)."""
    if pos < len(text) and text[pos] == "'":
        out, i = [], pos + 1
        while i < len(text):
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    out.append("'")
                    i += 2
                    continue
                return "".join(out), i + 1
            out.append(text[i])
            i += 1
        raise TmdlError(f"unterminated quoted name in {text!r}")
    match = _UNQUOTED.match(text, pos)
    if not match:
        raise TmdlError(f"expected a name at {text[pos:]!r}")
    return match.group(0), match.end()


def column_reference(text: str) -> tuple[str, str]:
    """``Table.Column`` (either part may be quoted) -> (table, column)."""
    table, end = read_name(text.strip())
    rest = text.strip()[end:]
    if not rest.startswith("."):
        raise TmdlError(f"expected Table.Column, got {text!r}")
    column, end = read_name(rest, 1)
    if rest[end:].strip():
        raise TmdlError(f"unexpected text after column reference {text!r}")
    return table, column


def _property_value(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1].replace('""', '"')
    return value


class _Reader:
    def __init__(self, text: str, source: str):
        self.lines = text.replace("\r\n", "\n").split("\n")
        self.source = source
        self.i = 0

    def error(self, message: str, line: int | None = None) -> TmdlError:
        return TmdlError(f"{self.source}:{(self.i if line is None else line) + 1}: {message}")

    def depth(self, index: int) -> tuple[int, str]:
        raw = self.lines[index]
        stripped = raw.lstrip("\t")
        depth = len(raw) - len(stripped)
        if stripped[:1] in (" ", "\u00a0"):
            raise self.error("indentation must be tabs", index)
        return depth, stripped.rstrip()

    def next_content(self) -> int | None:
        j = self.i
        while j < len(self.lines) and not self.lines[j].strip():
            j += 1
        return j if j < len(self.lines) else None

    def block_expression(self, declared_at: int) -> str:
        """The lines indented at least two tabs deeper than ``declared_at`` (blank lines kept inside)."""
        body: list[str] = []
        prefix = "\t" * (declared_at + 2)
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            if not raw.strip():
                body.append("")
                self.i += 1
                continue
            if not raw.startswith(prefix):
                break
            body.append(raw[len(prefix) :].rstrip())
            self.i += 1
        while body and not body[-1]:
            body.pop()
        if not body:
            raise self.error("an expression after '=' is missing")
        return "\n".join(body)

    def body(self, parent: Node, depth: int) -> None:
        description: list[str] = []
        while True:
            j = self.next_content()
            if j is None:
                break
            line_depth, content = self.depth(j)
            if line_depth < depth:
                break
            self.i = j
            if line_depth > depth:
                raise self.error(f"indented {line_depth} tabs where {depth} were expected")
            self.i += 1
            if content.startswith("///"):
                description.append(content[3:].strip())
                continue
            node = self.statement(parent, content, depth, j)
            if node is not None:
                node.description = "\n".join(description) if description else None
                parent.children.append(node)
            elif description:
                raise self.error("a description must stand right above an object", j)
            description = []
        if description:
            raise self.error("a description at the end of a block describes nothing")

    def statement(self, parent: Node, content: str, depth: int, at: int) -> Node | None:
        word = content.split(None, 1)[0] if content.split() else ""
        if word in OBJECT_TYPES and content != word and not content.startswith(f"{word}:"):
            return self.object(word, content[len(word) :].lstrip(), depth, at)
        prop = _PROPERTY.match(content)
        if prop:
            self.set(parent, prop.group(1), _property_value(prop.group(2)), at)
            return None
        expr = _EXPRESSION_PROPERTY.match(content)
        if expr:
            value = expr.group(2).strip() or self.block_expression(depth)
            self.set(parent, expr.group(1), value, at)
            return None
        if _FLAG.match(content):
            self.set(parent, content, True, at)
            return None
        raise self.error(f"cannot read {content!r}", at)

    def set(self, parent: Node, key: str, value: str | bool, at: int) -> None:
        if key in parent.properties:
            raise self.error(f"{key} set twice on {parent.type} {parent.name}", at)
        parent.properties[key] = value

    def object(self, type_: str, rest: str, depth: int, at: int) -> Node:
        if type_ == "ref":
            kind, _, rest = rest.partition(" ")
            type_ = f"ref {kind}"
        name, end = read_name(rest)
        tail = rest[end:].strip()
        node = Node(type_, name, source=self.source, line=at + 1)
        if tail.startswith("="):
            node.expression = tail[1:].strip() or self.block_expression(depth)
        elif tail:
            raise self.error(f"unexpected {tail!r} after {type_} {name}", at)
        self.body(node, depth + 1)
        return node


def parse_tmdl(text: str, source: str = "<tmdl>") -> list[Node]:
    """The top-level objects of one TMDL file."""
    if text.startswith("\ufeff"):
        raise TmdlError(f"{source}: starts with a byte-order mark")
    root = Node("file", source)
    reader = _Reader(text, source)
    reader.body(root, 0)
    if root.properties:
        raise TmdlError(f"{source}: properties outside any object: {sorted(root.properties)}")
    return root.children


@dataclass
class SemanticModel:
    database: Node
    model: Node
    tables: dict[str, Node]
    relationships: list[Node]
    expressions: dict[str, Node]
    roles: dict[str, Node] = field(default_factory=dict)

    def columns(self, table: str) -> dict[str, Node]:
        return {c.name: c for c in self.tables[table].of_type("column")}

    def measures(self) -> dict[str, Node]:
        return {m.name: m for t in self.tables.values() for m in t.of_type("measure")}


def _single(nodes: list[Node], type_: str, source: str) -> Node:
    if len(nodes) != 1 or nodes[0].type != type_:
        raise TmdlError(f"{source}: expected exactly one {type_}, found {[n.type for n in nodes]}")
    return nodes[0]


def load_definition(definition_dir: Path) -> SemanticModel:
    """Parse a semantic model's ``definition/`` folder; the tables must match the model's ``ref table`` list."""
    definition_dir = Path(definition_dir)

    def parse(path: Path) -> list[Node]:
        return parse_tmdl(path.read_text(encoding="utf-8"), str(path))

    database = _single(parse(definition_dir / "database.tmdl"), "database", "database.tmdl")
    model_nodes = parse(definition_dir / "model.tmdl")
    model = next((n for n in model_nodes if n.type == "model"), None)
    if model is None:
        raise TmdlError("model.tmdl: no model object")
    referenced = [n.name for n in model_nodes if n.type == "ref table"]
    tables: dict[str, Node] = {}
    for path in sorted((definition_dir / "tables").glob("*.tmdl")):
        table = _single(parse(path), "table", path.name)
        if table.name in tables:
            raise TmdlError(f"{path.name}: table {table.name} defined twice")
        tables[table.name] = table
    if sorted(referenced) != sorted(tables):
        raise TmdlError(f"model.tmdl references {sorted(referenced)} but tables/ holds {sorted(tables)}")
    relationships: list[Node] = []
    if (definition_dir / "relationships.tmdl").exists():
        relationships = parse(definition_dir / "relationships.tmdl")
        if any(n.type != "relationship" for n in relationships):
            raise TmdlError("relationships.tmdl holds something other than relationships")
    expressions: dict[str, Node] = {}
    if (definition_dir / "expressions.tmdl").exists():
        for node in parse(definition_dir / "expressions.tmdl"):
            if node.type != "expression":
                raise TmdlError(f"expressions.tmdl: unexpected {node.type}")
            expressions[node.name] = node
    roles: dict[str, Node] = {}
    for path in sorted((definition_dir / "roles").glob("*.tmdl")):
        role = _single(parse(path), "role", path.name)
        roles[role.name] = role
    referenced_roles = [n.name for n in model_nodes if n.type == "ref role"]
    if sorted(referenced_roles) != sorted(roles):
        raise TmdlError(f"model.tmdl references roles {sorted(referenced_roles)} but roles/ holds {sorted(roles)}")
    return SemanticModel(database, model, tables, relationships, expressions, roles)
