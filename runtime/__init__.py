"""proconsul's generic machinery: actors, supervision, the live tree, codec, HTTP server, inspector.

Nothing in ``runtime`` knows about Consul; ``actors`` builds the Consul domain on top of it and the
dependency only ever points that way (``actors`` imports ``runtime``, never the reverse).
"""
