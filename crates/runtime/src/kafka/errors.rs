//! Kafka client errors carried up as [`ConnectError`]s of the right kind.
//!
//! The framework decides by kind: a [`ConnectError::Retriable`] is retried
//! after a backoff (a sink's `put`, a read of an internal topic, a join of
//! the group), anything else fails the operation. librdkafka reports both kinds
//! through one `KafkaError`, so each call site names what it was doing and
//! this module picks the kind from the error code, the way Java's client
//! marks its exceptions with `RetriableException`.

use std::fmt::Display;

use rampart_core::ConnectError;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// `error`, met while doing `what`, as a [`ConnectError`] of its kind.
pub fn kafka_error(what: impl Display, error: &KafkaError) -> ConnectError {
    let message = format!("{what}: {error}");
    if is_retriable(error) {
        ConnectError::Retriable(message)
    } else {
        ConnectError::Connect(message)
    }
}

/// Whether the same request may succeed later without a change of settings:
/// the broker is unreachable, busy or moving leadership, or metadata is not
/// there yet. Java marks the same broker errors as `RetriableException`s
/// (`NotLeaderOrFollowerException`, `CoordinatorLoadInProgressException`,
/// `UnknownTopicOrPartitionException`, `TimeoutException`…).
fn is_retriable(error: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    let code = match error {
        // librdkafka marks these itself.
        KafkaError::MessageConsumptionFatal(_) => return false,
        KafkaError::Transaction(e) => return e.is_retriable() && !e.is_fatal(),
        other => match other.rdkafka_error_code() {
            Some(code) => code,
            None => return false,
        },
    };
    matches!(
        code,
        // Raised inside librdkafka: the network and its own timeouts.
        C::BrokerTransportFailure
            | C::Resolve
            | C::AllBrokersDown
            | C::MessageTimedOut
            | C::OperationTimedOut
            | C::TimedOutQueue
            | C::QueueFull
            | C::WaitingForCoordinator
            | C::UnknownTopic
            | C::UnknownPartition
            | C::Retry
            | C::InProgress
            | C::PreviousInProgress
            | C::WaitCache
            // Answered by the broker.
            | C::UnknownTopicOrPartition
            | C::UnknownTopicId
            | C::InvalidMessage
            | C::ListenerNotFound
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::RequestTimedOut
            | C::BrokerNotAvailable
            | C::ReplicaNotAvailable
            | C::NetworkException
            | C::CoordinatorLoadInProgress
            | C::CoordinatorNotAvailable
            | C::NotCoordinator
            | C::NotEnoughReplicas
            | C::NotEnoughReplicasAfterAppend
            | C::NotController
            | C::KafkaStorageError
            | C::FetchSessionIdNotFound
            | C::InvalidFetchSessionEpoch
            | C::FencedLeaderEpoch
            | C::UnknownLeaderEpoch
            | C::OffsetNotAvailable
            | C::PreferredLeaderNotAvailable
            | C::EligibleLeadersNotAvailable
            | C::UnstableOffsetCommit
            | C::ThrottlingQuotaExceeded
            | C::ConcurrentTransactions
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_or_moving_broker_is_retriable() {
        for e in [
            KafkaError::Global(RDKafkaErrorCode::AllBrokersDown),
            KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopic),
            KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut),
            KafkaError::ConsumerCommit(RDKafkaErrorCode::CoordinatorLoadInProgress),
            KafkaError::OffsetFetch(RDKafkaErrorCode::NotCoordinator),
            KafkaError::MessageProduction(RDKafkaErrorCode::NotLeaderForPartition),
        ] {
            let got = kafka_error("sending", &e);
            assert!(got.is_retriable(), "{e:?} gave {got:?}");
            assert!(got.to_string().starts_with("sending: "), "{got}");
        }
    }

    #[test]
    fn refusals_that_no_retry_can_fix_are_not() {
        for e in [
            KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
            KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed),
            KafkaError::ConsumerCommit(RDKafkaErrorCode::GroupAuthorizationFailed),
            KafkaError::Global(RDKafkaErrorCode::Authentication),
            KafkaError::MessageProduction(RDKafkaErrorCode::Fatal),
            KafkaError::ConsumerCommit(RDKafkaErrorCode::IllegalGeneration),
            KafkaError::ClientCreation("bad config".into()),
            KafkaError::MessageConsumptionFatal(RDKafkaErrorCode::NotCoordinator),
        ] {
            let got = kafka_error("committing", &e);
            assert!(
                matches!(got, ConnectError::Connect(_)),
                "{e:?} gave {got:?}"
            );
        }
    }
}
