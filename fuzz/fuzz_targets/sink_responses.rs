//! Feeds arbitrary bytes to the parsers of what the sinks' servers answer:
//! Elasticsearch `_bulk` responses and error bodies, and Splunk HEC answers
//! and acknowledgement bodies. A broken or hostile server must never make a
//! task panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_connector_elasticsearch::fuzzing::{error_reason, head_all_ok, parse_response, OpKind};
use rampart_connector_splunk_hec::fuzzing::{acked_ids, classify};

fuzz_target!(|data: &[u8]| {
    // The first byte is how many operations the request held, the next two
    // the HTTP status; the rest is the body.
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let kinds = [
        OpKind::Index,
        OpKind::Create,
        OpKind::Update,
        OpKind::Delete,
    ];
    let ops: Vec<OpKind> = (0..usize::from(count))
        .map(|i| kinds[i % kinds.len()])
        .collect();
    let (status, body) = match rest {
        [a, b, body @ ..] => (u16::from_be_bytes([*a, *b]), body),
        _ => (200, rest),
    };
    let _ = parse_response(body, &ops);
    let _ = error_reason(body);
    for end in [0, body.len() / 2, body.len()] {
        let _ = head_all_ok(&body[..end]);
    }
    let _ = classify("https://hec.example:8088", status, body);
    let _ = acked_ids(body);
});
