//! `/connectors/{c}/offsets`: read any time, alter and reset only while
//! the connector is STOPPED.

use rampart_core::herder::TargetState;
use serde_json::{json, Value};

use crate::support::{error, Api};

const MUST_STOP: &str = "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/src/stop' endpoint";
const NEED_OFFSETS: &str = "Partitions / offsets need to be provided for an alter offsets request";

fn position(file: &str, position: Value) -> Value {
    json!({"offsets": [{"partition": {"filename": file}, "offset": position}]})
}

#[tokio::test]
async fn offsets_change_only_while_stopped() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    assert_eq!(
        api.call("GET", "/connectors/src/offsets", None).await,
        (200, json!({"offsets": []}))
    );
    let alter = position("a.txt", json!({"position": 2}));
    assert_eq!(
        api.call("PATCH", "/connectors/src/offsets", Some(alter.clone()))
            .await,
        (400, error(400, MUST_STOP))
    );
    assert_eq!(
        api.call("DELETE", "/connectors/src/offsets", None).await,
        (400, error(400, MUST_STOP))
    );
    // An empty or missing list is refused before the state is checked.
    for body in [json!({"offsets": []}), json!({}), json!({"offsets": null})] {
        assert_eq!(
            api.call("PATCH", "/connectors/src/offsets", Some(body.clone()))
                .await,
            (400, error(400, NEED_OFFSETS)),
            "{body}"
        );
    }

    assert_eq!(api.call("PUT", "/connectors/src/stop", None).await.0, 204);
    assert_eq!(
        api.call("PATCH", "/connectors/src/offsets", Some(alter.clone()))
            .await,
        (
            200,
            json!({"message": "The offsets for this connector have been altered successfully"})
        )
    );
    let other = position("b.txt", json!({"position": 7}));
    assert_eq!(
        api.call("PATCH", "/connectors/src/offsets", Some(other.clone()))
            .await
            .0,
        200
    );
    assert_eq!(
        api.call("GET", "/connectors/src/offsets", None).await.1,
        json!({"offsets": [alter["offsets"][0], other["offsets"][0]]})
    );
    // A null offset removes the partition.
    let (code, _) = api
        .call(
            "PATCH",
            "/connectors/src/offsets",
            Some(position("a.txt", Value::Null)),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        api.call("GET", "/connectors/src/offsets", None).await.1,
        json!({"offsets": [other["offsets"][0]]})
    );
    assert_eq!(
        api.call(
            "PATCH",
            "/connectors/src/offsets",
            Some(json!({"offsets": [{"partition": {}, "offset": {"position": 1}}]}))
        )
        .await,
        (
            400,
            error(400, "Source partitions may not be null or empty")
        )
    );

    assert_eq!(
        api.call("DELETE", "/connectors/src/offsets", None).await,
        (
            200,
            json!({"message": "The offsets for this connector have been reset successfully"})
        )
    );
    assert_eq!(
        api.call("GET", "/connectors/src/offsets", None).await.1,
        json!({"offsets": []})
    );
}

#[tokio::test]
async fn sink_offsets_name_topic_partitions() {
    let api = Api::new();
    api.sink("snk", 1, TargetState::Stopped);
    let (code, body) = api
        .call(
            "PATCH",
            "/connectors/snk/offsets",
            Some(json!({"offsets": [{"partition": {"kafka_topic": "in", "kafka_partition": "0"}, "offset": {"kafka_offset": 5}}]})),
        )
        .await;
    assert_eq!(
        (code, body),
        (
            200,
            json!({"message": "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."})
        )
    );
    assert_eq!(
        api.call("GET", "/connectors/snk/offsets", None).await.1,
        json!({"offsets": [{"partition": {"kafka_topic": "in", "kafka_partition": 0}, "offset": {"kafka_offset": 5}}]})
    );
    for (entry, message) in [
        (
            json!({"partition": {"kafka_partition": 0}, "offset": {"kafka_offset": 1}}),
            "Kafka topic names must be valid strings and may not be null",
        ),
        (
            json!({"partition": {"kafka_topic": "in", "kafka_partition": "x"}, "offset": {"kafka_offset": 1}}),
            "Kafka partitions must be valid numbers and may not be null",
        ),
        (
            json!({"partition": {"kafka_topic": "in", "kafka_partition": 0}, "offset": {"kafka_offset": -1}}),
            "Kafka offsets must be valid numbers and may not be null",
        ),
    ] {
        assert_eq!(
            api.call(
                "PATCH",
                "/connectors/snk/offsets",
                Some(json!({"offsets": [entry]}))
            )
            .await,
            (400, error(400, message)),
            "{entry}"
        );
    }
    assert_eq!(
        api.call("DELETE", "/connectors/snk/offsets", None).await,
        (
            200,
            json!({"message": "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."})
        )
    );
}

#[tokio::test]
async fn offsets_of_an_unknown_connector_are_404() {
    let api = Api::new();
    let alter = position("a.txt", json!({"position": 2}));
    for (method, body) in [("GET", None), ("PATCH", Some(alter)), ("DELETE", None)] {
        assert_eq!(
            api.call(method, "/connectors/x/offsets", body).await,
            (404, error(404, "Connector x not found")),
            "{method}"
        );
    }
}
