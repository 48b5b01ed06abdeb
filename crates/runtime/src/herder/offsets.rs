//! Offsets REST support (KIP-875): source offsets from the offset store,
//! sink offsets from the `connect-<name>` consumer group.

use std::collections::HashMap;
use std::time::Duration;

use rampart_core::herder::{ConnectorOffset, ConnectorOffsets};
use rampart_core::record::{SourceMap, TopicPartition};
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value as Json;

use crate::kafka;
use crate::kafka::errors::kafka_error;
use crate::worker::committed_offsets;
use crate::worker_config::WorkerConfig;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Source offsets in REST shape.
pub(crate) fn source_offsets(entries: Vec<(SourceMap, SourceMap)>) -> ConnectorOffsets {
    ConnectorOffsets {
        offsets: entries
            .into_iter()
            .map(|(p, o)| ConnectorOffset {
                partition: p,
                offset: Some(o),
            })
            .collect(),
    }
}

fn group_consumer(
    worker: &WorkerConfig,
    config: &HashMap<String, String>,
    name: &str,
) -> ConnectResult<BaseConsumer> {
    kafka::consumer_config(
        worker,
        config,
        name,
        &format!("connector-consumer-{name}-offsets"),
    )
    .map_err(ConnectError::from)?
    .create()
    .map_err(|e| kafka_error("cannot create consumer", &e))
}

fn sink_topics(
    consumer: &BaseConsumer,
    config: &HashMap<String, String>,
) -> ConnectResult<Vec<String>> {
    let listed =
        rampart_core::config::split_list(config.get("topics").map(String::as_str).unwrap_or(""));
    if !listed.is_empty() {
        return Ok(listed);
    }
    let Some(regex) = config.get("topics.regex").filter(|r| !r.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let re = regex::Regex::new(&format!("^(?:{})$", regex.trim()))
        .map_err(|e| ConnectError::BadRequest(e.to_string()))?;
    let md = consumer
        .fetch_metadata(None, TIMEOUT)
        .map_err(|e| kafka_error("cannot fetch metadata", &e))?;
    Ok(md
        .topics()
        .iter()
        .map(|t| t.name().to_string())
        .filter(|t| re.is_match(t))
        .collect())
}

/// Committed offsets of a sink connector, in REST shape.
pub(crate) async fn sink_offsets(
    worker: &WorkerConfig,
    config: HashMap<String, String>,
    name: String,
) -> ConnectResult<ConnectorOffsets> {
    let consumer = group_consumer(worker, &config, &name)?;
    tokio::task::spawn_blocking(move || {
        let topics = sink_topics(&consumer, &config)?;
        let mut committed: Vec<(TopicPartition, i64)> =
            committed_offsets(&consumer, &topics, TIMEOUT)?
                .into_iter()
                .collect();
        committed.sort();
        Ok(ConnectorOffsets {
            offsets: committed
                .into_iter()
                .map(|(tp, o)| ConnectorOffset {
                    partition: json_map(&[
                        ("kafka_topic", Json::String(tp.topic)),
                        ("kafka_partition", Json::from(tp.partition)),
                    ]),
                    offset: Some(json_map(&[("kafka_offset", Json::from(o))])),
                })
                .collect(),
        })
    })
    .await
    .map_err(|e| ConnectError::connect(e.to_string()))?
}

fn json_map(pairs: &[(&str, Json)]) -> SourceMap {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Parses and checks sink offsets of a PATCH body, as Kafka's
/// `SinkUtils.parseSinkConnectorOffsets`.
pub(crate) fn parse_sink_offsets(
    offsets: &ConnectorOffsets,
) -> ConnectResult<Vec<(TopicPartition, Option<i64>)>> {
    let bad = |m: &str| ConnectError::BadRequest(m.to_string());
    offsets
        .offsets
        .iter()
        .map(|o| {
            let topic = o
                .partition
                .get("kafka_topic")
                .and_then(Json::as_str)
                .ok_or_else(|| {
                    bad("Kafka topic names must be valid strings and may not be null")
                })?;
            let partition = o
                .partition
                .get("kafka_partition")
                .and_then(|p| {
                    p.as_i64()
                        .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
                })
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| bad("Kafka partitions must be valid numbers and may not be null"))?;
            let offset = match &o.offset {
                None => None,
                Some(m) => Some(
                    m.get("kafka_offset")
                        .and_then(|p| {
                            p.as_i64()
                                .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
                        })
                        .filter(|o| *o >= 0)
                        .ok_or_else(|| {
                            bad("Kafka offsets must be valid numbers and may not be null")
                        })?,
                ),
            };
            Ok((TopicPartition::new(topic, partition), offset))
        })
        .collect()
}

/// Commits the given sink offsets for the connector's group. A `None`
/// offset stands for Kafka's deletion of the committed offset, after which
/// the consumer's `auto.offset.reset` applies: librdkafka cannot delete a
/// single group offset, so the offset that policy would pick now (earliest
/// by default, latest if overridden) is committed instead.
pub(crate) async fn alter_sink_offsets(
    worker: &WorkerConfig,
    config: HashMap<String, String>,
    name: String,
    offsets: Vec<(TopicPartition, Option<i64>)>,
) -> ConnectResult<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let latest = config
        .get("consumer.override.auto.offset.reset")
        .or_else(|| worker.props.get("consumer.auto.offset.reset"))
        .is_some_and(|r| r.trim().eq_ignore_ascii_case("latest"));
    let consumer = group_consumer(worker, &config, &name)?;
    tokio::task::spawn_blocking(move || {
        let mut tpl = TopicPartitionList::new();
        for (tp, offset) in offsets {
            let o = match offset {
                Some(o) => o,
                None => {
                    let (low, high) = consumer
                        .fetch_watermarks(&tp.topic, tp.partition, TIMEOUT)
                        .map_err(|e| {
                            ConnectError::connect(format!("cannot read watermarks of {tp}: {e}"))
                        })?;
                    if latest {
                        high
                    } else {
                        low
                    }
                }
            };
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(o))
                .map_err(|e| ConnectError::connect(e.to_string()))?;
        }
        consumer.commit(&tpl, CommitMode::Sync).map_err(|e| {
            kafka_error(
                format_args!("Failed to alter consumer group offsets for connector {name}"),
                &e,
            )
        })
    })
    .await
    .map_err(|e| ConnectError::connect(e.to_string()))?
}

/// Resets every sink offset by deleting the connector's consumer group (a
/// group that does not exist is already reset). Where the broker cannot
/// delete groups, every committed offset is reset as a PATCH with `null`
/// would.
pub(crate) async fn reset_sink_offsets(
    worker: &WorkerConfig,
    config: HashMap<String, String>,
    name: String,
) -> ConnectResult<()> {
    let admin: AdminClient<DefaultClientContext> =
        kafka::admin_config(worker, &config, &format!("connector-adminclient-{name}"))
            .map_err(ConnectError::from)?
            .create()
            .map_err(|e| kafka_error("cannot create admin client", &e))?;
    let group = kafka::consumer_group(&config, &name);
    let result = admin
        .delete_groups(
            &[&group],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await
        .ok()
        .and_then(|r| r.into_iter().next());
    match result {
        Some(Ok(_)) | Some(Err((_, RDKafkaErrorCode::GroupIdNotFound))) => return Ok(()),
        _ => {}
    }
    let current = sink_offsets(worker, config.clone(), name.clone()).await?;
    let resets = parse_sink_offsets(&current)?
        .into_iter()
        .map(|(tp, _)| (tp, None))
        .collect();
    alter_sink_offsets(worker, config, name, resets).await
}
