"""Edit the project's source from the notebook: one member of one class, found by name."""

import ast
import textwrap


def rewrite(path, cls, member, source):
    """Put `source` (a method or an assignment) in place of `cls`'s `member` in the file `path`.

    A member the class does not have yet goes right after the class's docstring. Running it again
    with other source replaces what the last run wrote.
    """
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    node = _class(ast.parse(text), cls, path)
    body = textwrap.indent(textwrap.dedent(source).strip("\n") + "\n", " " * (node.col_offset + 4))
    old = next((stmt for stmt in node.body if member in _names(stmt)), None)
    if old is not None:
        start = (old.decorator_list[0] if getattr(old, "decorator_list", None) else old).lineno
        lines[start - 1 : old.end_lineno] = [body]
    else:
        first = node.body[0]
        has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        at = first.end_lineno if has_doc else first.lineno - 1
        lines[at:at] = ["\n", body] if has_doc else [body, "\n"]
    path.write_text("".join(lines))
    return path


def _class(tree, name, path):
    """The class `name` defined at the top of the module `tree`."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    raise LookupError(f"no class {name!r} in {path}: the classes there are "
                      f"{[n.name for n in tree.body if isinstance(n, ast.ClassDef)]}")


def _names(stmt):
    """The names a class-body statement defines."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, ast.Assign):
        return {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and isinstance(stmt.target, ast.Name):
        return {stmt.target.id}
    return set()
