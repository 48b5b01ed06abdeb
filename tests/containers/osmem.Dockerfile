# Stands in for the OpenSearch service in CI: osmem-server, the in-memory
# OpenSearch-compatible server scripts/osmem installs from a pinned,
# hash-checked wheel (no registry here serves OpenSearch).
# Build context: the osmem-server binary, staged by scripts/containers.
FROM docker.io/library/debian:bookworm-slim
COPY osmem-server /usr/local/bin/osmem-server
ENTRYPOINT ["/usr/local/bin/osmem-server", "-addr", "0.0.0.0:9200", "-no-stdin-watch"]
