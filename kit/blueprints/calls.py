"""Reading a step's source: the methods a method reaches, and what each call refers to.

Whether a call blocks or returns promptly is decided here too.
"""

import ast
import builtins
import inspect
import multiprocessing.process
import os
import socket
import textwrap
import threading
import time
from dataclasses import dataclass, field

#: Functions that block until something outside the step happens.
BLOCKING_FUNCTIONS = {time.sleep: "time.sleep", builtins.input: "input", os.wait: "os.wait"}
#: Objects whose join/wait/recv/accept block; a known object of another type (a str, a module) does
#: not.
BLOCKING_TYPES = (
    threading.Thread,
    multiprocessing.process.BaseProcess,
    threading.Event,
    threading.Condition,
    threading.Barrier,
    socket.socket,
)
#: Method names that block on an object the kit cannot resolve, when called with no timeout.
UNTIMED = {"join", "wait"}
#: Method names that block on any socket-like object.
RECEIVING = {"recv", "recv_into", "recvfrom", "accept"}
_UNKNOWN = object()


@dataclass
class Scope:
    """Where the names of one method resolve: its globals, its closure, the class for ``self``."""

    cls: type
    #: closure variables, then the module's globals
    names: dict
    self_name: str = "self"
    #: names assigned in the method: not resolved
    locals: set = field(default_factory=set)


def parse(fn):
    """The ``FunctionDef`` of ``fn``, or None when its source is not available."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    node = tree.body[0] if tree.body else None
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def scope_of(fn, cls, node):
    """The Scope in which ``node`` (the parsed ``fn``) runs."""
    try:
        closure = inspect.getclosurevars(fn).nonlocals
    except (TypeError, ValueError):
        closure = {}
    args = node.args.posonlyargs + node.args.args
    assigned = {
        t.id for n in walk(node) for t in ast.walk(n) if isinstance(t, ast.Name) and _stores(t)
    }
    return Scope(
        cls,
        {**fn.__globals__, **closure},
        args[0].arg if args else "self",
        assigned | {a.arg for a in args[1:]},
    )


def _stores(name):
    return isinstance(name.ctx, ast.Store)


def walk(fn_node):
    """The nodes of a function, not of the functions, lambdas or classes defined inside it.

    Those (a thread target, a timer callback) run later, elsewhere.
    """
    for stmt in fn_node.body:
        yield from walk_node(stmt)


def walk_node(node):
    """``node`` and the nodes inside it, not those of functions, lambdas or classes it defines."""
    todo = [node]
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def first_line(fn):
    """The line of the source file where ``fn``'s source starts (its decorator or ``def``)."""
    try:
        return inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        return 1


def value(node, scope):
    """The object an expression names, else _UNKNOWN.

    A module, a function, a constant, or an attribute of the step's class.
    """
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return ""
    if isinstance(node, ast.Name):
        if node.id in scope.locals or node.id == scope.self_name:
            return _UNKNOWN
        return scope.names.get(node.id, getattr(builtins, node.id, _UNKNOWN))
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == scope.self_name:
            return inspect.getattr_static(scope.cls, node.attr, _UNKNOWN)
        base = value(node.value, scope)
        if base is _UNKNOWN:
            return _UNKNOWN
        try:
            return inspect.getattr_static(base, node.attr)
        except AttributeError:
            return _UNKNOWN
    return _UNKNOWN


def _untimed(call):
    """True when a join/wait call passes no timeout (or None)."""
    timeouts = [*call.args[:1], *(k.value for k in call.keywords if k.arg == "timeout")]
    return all(isinstance(t, ast.Constant) and t.value is None for t in timeouts)


def _by_name(name, call):
    if name in UNTIMED and _untimed(call):
        return f".{name}()"
    if name in RECEIVING or name == "sleep":
        return f".{name}()"
    return None


def blocking(call, scope):
    """What a call blocks on, e.g. ``'time.sleep'``, ``'.join()'``; None if it returns promptly."""
    func = call.func
    target = value(func, scope)
    if target is not _UNKNOWN:
        try:
            return BLOCKING_FUNCTIONS.get(target)
        except TypeError:
            # unhashable
            return None
    if not isinstance(func, ast.Attribute):
        return None
    base = value(func.value, scope)
    if base is not _UNKNOWN and not isinstance(base, BLOCKING_TYPES):
        # a str's join, os.path, shlex, a number...
        return None
    return _by_name(func.attr, call)


def reachable(methods, name):
    """(method name, parsed method, self's name) for ``name`` and the own methods it calls."""
    todo, seen, out = [name], set(), []
    while todo:
        current = todo.pop(0)
        if current in seen or current not in methods:
            continue
        seen.add(current)
        node = parse(methods[current])
        if node is None:
            continue
        args = node.args.posonlyargs + node.args.args
        me = args[0].arg if args else "self"
        out.append((current, node, me))
        todo.extend(self_calls(node, me))
    return out


def self_calls(node, me):
    """Names of the methods of self that ``node`` calls (``self.helper()``)."""
    return [n.func.attr for n in walk(node) if isinstance(n, ast.Call) and self_attr(n.func, me)]


def self_attr(node, me):
    """The attribute name when ``node`` is ``self.<name>``, else None."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == me:
        return node.attr
    return None


def self_attrs_in(node, me):
    """The attributes of self that ``node`` mentions."""
    return {a for n in ast.walk(node) if (a := self_attr(n, me))}


def line_of(method, node, methods):
    """The line of ``node`` in the step's source file."""
    return first_line(methods[method]) + node.lineno - 1
