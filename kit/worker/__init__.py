"""Code that runs only inside a `celery worker` process started by the kit.

`app` is the module given to `celery -A` (it rebuilds the notebook's app), `probes` records
step lifecycle, timer and gossip, and `control` holds the kit's remote-control commands.
Nothing here imports the notebook side (widgets, graphviz, the cluster): a test pins it.
"""
