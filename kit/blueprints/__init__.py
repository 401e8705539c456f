"""Reading, checking and drawing a worker's two blueprints (kernel side).

``snapshot.py`` resolves the steps an app's blueprints will run, or reads them live from a worker;
``membership.py`` is the cross-blueprint check; ``lint.py`` (with ``calls.py``) checks a step's code
before a worker boots; ``graph.py`` draws a snapshot (its look in ``graph_style.py``, the SVG in
``render.py``).
"""
