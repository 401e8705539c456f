"""The processes a cluster is made of, and what they are started with (kernel side, mostly).

``broker.py`` (the embedded Redis) and ``broker_watch.py`` (it exiting and coming back),
``cluster_broker.py`` (a cluster's broker, namespace and the app pointed at it),
``forkserver.py`` (one process that imports Celery once, then forks workers) with ``preload.py``
(what it imports, and how it leaves its memory for them), ``workers.py`` and
``procs.py`` (a child process: start, status, close), ``readiness.py`` (when a worker is ready),
``guard.py`` (no cluster inside a worker), ``namespace.py`` (a private key prefix or a room),
``plan.py`` with ``options.py`` and ``shipping.py`` (what the workers run, checked before they
start).

Workers import ``forkserver`` (and ``preload``), ``procs``, ``namespace`` and ``shipping`` too;
this file imports nothing, so a worker loading one of them loads nothing else of the kernel side.
"""
