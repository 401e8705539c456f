"""One self-contained HTML file of a run, for a bug report: ``kit.report(source, "run.html")``.

The package is not named ``kit/report/``: importing a submodule ``kit.report`` would bind the
module over the function ``kit.report`` on the ``kit`` package.

- ``source.py``: what a report can be made from (a recording's path, any ClusterView);
- ``timeline.py``: the timeline's saved state, drawn by the widget's own ``timeline_view.js``;
- ``parts.py``: the graphs, the gossip chart, the worker states and the stuck-step reports;
- ``page.py``: the page, from ``templates/``, written to one file.
"""

from kit.report_html.page import report

__all__ = ["report"]
