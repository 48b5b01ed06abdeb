# Stands in for the MinIO service in CI: moto's S3 server, pinned as in
# scripts/moto, on MinIO's port (no registry here serves MinIO).
FROM docker.io/library/debian:bookworm-slim
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/moto && /opt/moto/bin/pip install -q --no-cache-dir 'moto[server]==5.2.5'
ENTRYPOINT ["/opt/moto/bin/moto_server", "-H", "0.0.0.0", "-p", "9000"]
