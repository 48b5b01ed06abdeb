# Stands in for the Redpanda service in CI: Apache Kafka 4.1.1 from the jars
# scripts/kafka fetches from Maven Central (no registry here serves
# Redpanda). One KRaft node with Redpanda's two compose listeners:
# redpanda:9092 inside the compose network, localhost:19092 from the host.
# Build context: the Kafka jars (lib/) and start-kafka, staged by scripts/containers.
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless \
    && rm -rf /var/lib/apt/lists/*
COPY lib /opt/kafka/lib
COPY start-kafka /opt/kafka/start
ENTRYPOINT ["/opt/kafka/start"]
