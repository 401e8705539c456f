"""The notebook's widgets (ipywidgets, anywidget): the dashboard, its panels and the live timeline.

They run in the kernel only and read the cluster through its event feed and remote control.
"""
