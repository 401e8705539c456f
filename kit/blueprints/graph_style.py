"""How a blueprint picture looks: graphviz attributes, palette, node and edge styles, legend."""

from __future__ import annotations

import html

#: Layout: requirements on the left, so boot order reads left to right; fits a laptop's notebook
#: cell.
GRAPH_ATTR = {
    "rankdir": "RL",
    "compound": "true",
    "size": "9,7",
    "nodesep": "0.15",
    "ranksep": "0.3",
    "fontname": "Helvetica",
    "fontsize": "10",
    "labelloc": "b",
    "labeljust": "l",
}
NODE_ATTR = {
    "shape": "box",
    "style": "rounded,filled",
    "fontname": "Helvetica",
    "fontsize": "10",
    "height": "0.3",
    "margin": "0.08,0.03",
}
EDGE_ATTR = {"arrowsize": "0.6", "color": "#5f6b7a"}

#: Per kind of step or mark: node fill, border (also the edge colour), font (``None``: default),
#: and the colour's name for the plain-text legend.
PALETTE = {
    "celery": ("#e8eef6", "#7a8ca3", None, "blue"),
    "user": ("#ffe8a3", "#c28a00", None, "yellow"),
    "probe": ("#ede7f6", "#9575cd", "#5e35b1", "lavender, dotted"),
    "disabled": ("#f4f4f4", "#b0b0b0", "#909090", "dashed grey"),
    "error": ("#fde2e1", "#c5221f", None, "red"),
    "added": ("#dcf5e3", "#1e8e3e", "#1e8e3e", "green"),
    "removed": ("#fde2e1", "#c5221f", "#c5221f", "red"),
    "focus": ("#ffb74d", "#e65100", None, "orange"),
    "requires": ("#e3f2fd", "#1e88e5", None, "light blue"),
    "required-by": ("#f3e5f5", "#8e24aa", None, "purple"),
    "dim": ("#fafafa", "#dddddd", "#bbbbbb", "faint"),
    "flipped": ("#fde2e1", "#d93025", "#d93025", "dashed red"),
}
#: Legend cells per mode: (text, palette key or None).
LEGEND = {
    "base": [
        ("Celery step", "celery"),
        ("your step", "user"),
        ("∘ conditional", None),
        ("double border: last", None),
        ("A → B: A requires B", None),
    ],
    "live": [
        ("kit probe (the kit's instrumentation)", "probe"),
        ("disabled", "disabled"),
        ("✓ started", None),
        ("time: __init__ + include + start", None),
    ],
    "last": [("┈ dotted: the last step boots after these", None)],
    "consumer": [("bold arrow: Consumer starts the consumer blueprint", None)],
    "diff": [("added", "added"), ("removed", "removed")],
    "focus": [
        ("focus", "focus"),
        ("what it requires", "requires"),
        ("what requires it", "required-by"),
    ],
    "flipped": [("┄ booted in either order: no requires path", "flipped")],
}
#: Legend entries per line.
LEGEND_ROW = 5
NOTE = {
    False: "Numbers: one valid boot order. Only requires arrows (and the last step) are guaranteed: "
    "the order of unrelated steps varies from process to process.",
    True: "Numbers: the boot order of this worker process; "
    "another process may order unrelated steps differently.",
}


def node_id(bp: str, name: str) -> str:
    return f"{bp}/{name}"


def _dom_id(*parts: str) -> str:
    return "-".join(p.replace(".", "-").replace(" ", "_") for p in parts)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 1e-4 else f"{seconds * 1e6:.0f} µs"


def _boot_time(timings: dict) -> float:
    """``__init__`` + ``include`` (which calls ``create``) + ``start``, or ``create`` alone.

    ``create`` alone when there is no ``include``.
    """
    parts = ("__init__", "include" if "include" in timings else "create", "start")
    return sum(timings.get(part, 0.0) for part in parts)


def _label(step) -> str:
    head = f"{step.order} · {'∘ ' if step.conditional else ''}{step.label}"
    if step.enabled is None:
        return head
    if step.error:
        return f"{head}\n✗ error"
    if not step.enabled:
        return f"{head}\noff"
    mark, took = "✓ " if step.started else "", _ms(_boot_time(step.timings)) if step.timings else ""
    return f"{head}\n{mark}{took}".rstrip()


def _tooltip(step) -> str:
    lines = [
        step.ref or step.name,
        "requires: " + (", ".join(r.rsplit(".", 1)[-1] for r in step.requires) or "-"),
    ]
    lines += [f"{method}: {_ms(sec)}" for method, sec in step.timings.items()]
    return "\n".join(lines + ([f"error: {step.error}"] if step.error else []))


#: Where the kit's own instrumentation steps (TimerProbe, GossipProbe, SizedGossip) live: worker-side
#: code.
PROBES_PACKAGE = "kit.worker."


def is_probe(step) -> bool:
    """A step the kit adds to watch or tune the worker (not one the learner wrote)."""
    return (step.ref or "").split(":")[0].startswith(PROBES_PACKAGE)


def _kind(step) -> str:
    if step.error:
        return "error"
    if step.enabled is False:
        return "disabled"
    return "probe" if is_probe(step) else "user" if step.user else "celery"


def node_attrs(bp: str, step, mark: str) -> dict:
    kind = _kind(step)
    fill, colour, font, _ = PALETTE[mark or kind]
    dashed = mark == "removed" or kind == "disabled"
    style = (
        "rounded,filled,dashed"
        if dashed
        else "rounded,filled,dotted"
        if kind == "probe"
        else "rounded,filled"
    )
    classes = ["step", bp, kind, mark] + ["last"] * step.last + ["conditional"] * step.conditional
    bold = ((step.user and kind != "probe") or mark) and mark != "dim"
    attrs = {
        "label": _label(step),
        "tooltip": _tooltip(step),
        "fillcolor": fill,
        "color": colour,
        "style": style,
        "id": _dom_id("step", bp, step.name),
        "class": " ".join(c for c in classes if c),
        "peripheries": "2" if step.last else "1",
        "penwidth": "1.6" if bold else "1",
    }
    return attrs | ({"fontcolor": font} if font else {})


def edge_attrs(bp: str, a: str, b: str, mark: str) -> dict:
    attrs = {
        "id": _dom_id("requires", bp, a, b),
        "class": f"requires {bp} {mark}".strip(),
        "tooltip": f"{a.rsplit('.', 1)[-1]} requires {b.rsplit('.', 1)[-1]}",
    }
    if mark:
        attrs |= {"color": PALETTE[mark][1], "penwidth": "1" if mark == "dim" else "1.8"}
    return attrs | ({"style": "dashed"} if mark == "removed" else {})


def pair_attrs(bp: str, a: str, b: str, mark: str) -> dict:
    """A dashed line with no arrow between two steps that no requires path orders."""
    return {
        "id": _dom_id("pair", bp, a, b),
        "class": f"pair {bp} {mark}",
        "tooltip": f"{a.rsplit('.', 1)[-1]} and {b.rsplit('.', 1)[-1]}: {mark}",
        "style": "dashed",
        "dir": "none",
        "constraint": "false",
        "color": PALETTE[mark][1],
        "penwidth": "1.8",
    }


def legend(modes: list, title: str, live: bool, drawn: set = frozenset()) -> tuple[str, str]:
    """The legend as an HTML-like label with colour swatches, and as plain text.

    `drawn`: the marks in the picture ('probe', 'last', 'consumer'); only those get an entry."""
    entries = [
        entry
        for mode in ["base"] + modes + sorted(drawn & {"last", "consumer"})
        for entry in LEGEND[mode]
        if entry[1] != "probe" or "probe" in drawn
    ]

    def cell(text, key):
        colour = f' bgcolor="{PALETTE[key][0]}" border="1" color="{PALETTE[key][1]}"' if key else ""
        return f"<td{colour}>{html.escape(text)}</td>"

    row = '<tr><td align="left">{}</td></tr>'
    # a few entries a line: a wide legend would shrink the whole picture
    swatches = "".join(
        row.format(
            '<table border="0" cellspacing="3" cellpadding="2"><tr>'
            + "".join(cell(*e) for e in entries[i : i + LEGEND_ROW])
            + "</tr></table>"
        )
        for i in range(0, len(entries), LEGEND_ROW)
    )
    table = (
        row.format(f"<b>{html.escape(title)}</b>")
        + swatches
        + row.format(f'<font point-size="9">{html.escape(NOTE[live])}</font>')
    )
    words = " · ".join(f"{t} ({PALETTE[k][3]})" if k else t for t, k in entries)
    # \\l: a left-justified line
    plain = f"{title}\\l{words}\\l{NOTE[live]}\\l"
    return f'<<table border="0" cellspacing="0" cellpadding="0">{table}</table>>', plain
