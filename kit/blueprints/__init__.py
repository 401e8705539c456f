"""Reading, checking and drawing a worker's two blueprints (kernel side).

``snapshot.py`` resolves the steps an app's blueprints will run, or reads them live from a worker;
``membership.py`` is the cross-blueprint check; ``lint.py`` checks a step's code before a worker
boots (a module per rule: ``lint_requires``, ``lint_timers``, ``lint_waits``, ``lint_gossip``; the
source reading in ``calls.py``); ``graph.py`` draws a snapshot (its look in ``graph_style.py``, the SVG in
``render.py``).
"""
