"""The public names, and the rule that worker processes never import the notebook side."""

import ast
import inspect
import os
import pathlib
import subprocess
import sys

import kit

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Modules both sides use: what a worker may import outside kit/worker/ (the two packages' own
#: __init__ files import nothing).
SHARED = {
    "kit.errors",
    "kit.events",
    "kit.gossip_timing",
    "kit.events.contract",
    "kit.events.telemetry",
    "kit.kernel",
    "kit.processes",
    "kit.processes.forkserver",
    "kit.processes.namespace",
    "kit.processes.procs",
    "kit.processes.shipping",
    "kit.steps",
    "kit.tasks",
}

EXPECTED = [
    "BrokerError",
    "ClusterError",
    "CrossBlueprintError",
    "Dashboard",
    "EventFeed",
    "LocalCluster",
    "NotAStepError",
    "RecordingError",
    "RecordingWarning",
    "Room",
    "ShadowWarning",
    "ShippingError",
    "StepCycleError",
    "StepError",
    "StepWarning",
    "Timeline",
    "UnknownRequirementError",
    "WorkerBootError",
    "attach",
    "blueprint_diff",
    "blueprint_graph",
    "blueprint_steps",
    "boot_order",
    "export_trace",
    "lint_steps",
    "replay",
    "report",
    "steps",
]


def test_exported_members():
    assert kit.__all__ == EXPECTED
    for name in kit.__all__:
        assert getattr(kit, name) is not None


def test_worker_side_never_imports_the_notebook_side(tmp_path):
    """The folder rule: kit/worker/ and the modules both sides share load nothing of the notebook side."""
    worker_modules = sorted(
        f"kit.worker.{p.stem}"
        for p in (ROOT / "kit" / "worker").glob("*.py")
        if p.stem != "__init__"
    )
    code = (
        f"import sys, kit.processes.forkserver, {', '.join(worker_modules)}\n"
        "heavy = [m for m in ('ipywidgets', 'graphviz', 'plotly', 'IPython', 'kit.blueprints.graph',"
        " 'kit.widgets.dashboard')"
        " if m in sys.modules]\n"
        f"allowed = {sorted(SHARED)!r}\n"
        "kernel = [m for m in sys.modules if m.startswith('kit.') and not m.startswith('kit.worker')"
        " and m not in allowed]\n"
        "print(heavy, kernel); sys.exit(1 if heavy or kernel else 0)"
    )
    env = dict(os.environ, KIT_BROKER_URL="redis://127.0.0.1:1/0")
    env.pop("KIT_RUN_DIR", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _public_members(cls):
    """The public methods and properties a class adds (overrides, like a step's start(), are documented
    by the class they override: Celery's bootsteps.Step)."""
    for name, value in vars(cls).items():
        if name.startswith("_") or any(hasattr(base, name) for base in cls.__mro__[1:]):
            continue
        target = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if inspect.isfunction(target):
            yield name, target


def test_every_exported_class_and_function_has_a_docstring():
    import kit.steps

    objects = {name: getattr(kit, name) for name in kit.__all__}
    objects.update(
        {
            f"steps.{n}": v
            for n, v in vars(kit.steps).items()
            if getattr(v, "__module__", "") == "kit.steps"
        }
    )
    missing = []
    for name, obj in objects.items():
        if not (inspect.isclass(obj) or inspect.isfunction(obj)) or name.split(".")[-1].startswith(
            "_"
        ):
            continue
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj) and obj.__module__.startswith("kit"):
            missing += [f"{name}.{m}" for m, fn in _public_members(obj) if not fn.__doc__]
    assert missing == [], f"exported names without a docstring: {missing}"


def _kit_imports():
    """{module: the kit modules it imports, at the top or inside a function}, read from the source."""
    modules = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for p in (ROOT / "kit").rglob("*.py")
    }
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kit"):
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
        graph[name] = (found & modules.keys()) - {name, "kit"}
    return graph


def test_no_import_circle():
    """No kit module imports one that imports it back, directly or through others."""
    graph = _kit_imports()
    assert "kit.widgets.card" in graph["kit.display"]  # the reader sees lazy imports too
    circles = []

    def visit(name, path):
        for dep in graph[name]:
            if dep in path:
                circles.append(path[path.index(dep) :] + [dep])
            elif dep not in done:
                visit(dep, path + [dep])
        done.add(name)

    done = set()
    for name in sorted(graph):
        visit(name, [name])
    assert circles == []
