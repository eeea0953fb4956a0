"""TLS machinery that knows nothing about Consul: certificates, SSL contexts, handshakes with a deadline.

What lives here, one job per module:

- ``certs``: make a CA and leaf certificates (ECDSA P-256) with the ``cryptography`` package, read them back,
  and list what a certificate says about itself (names, validity, issuer). Pure: no files, no sockets.
- ``contexts``: build ``ssl.SSLContext`` objects for the serving and the dialling side from PEM files (CA
  file or directory, certificate, key, minimum version, whether the peer must present a certificate), and
  read the names out of a verified peer certificate.
- ``handshake``: run a TLS handshake over any Trio stream, serving or dialling, bounded in time, turning
  every failure into one `HandshakeFailed` with a short reason.

What must never live here: Consul names (``server.<dc>.<domain>``, file naming of ``consul tls``), agent
configuration, or any import of ``actors``. The package imports nothing eagerly.
"""
