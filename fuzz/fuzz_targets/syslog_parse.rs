//! Feeds arbitrary bytes to every syslog parser, the record mappings and the
//! RFC 6587 and RELP framers (with the input split into two reads): nothing may
//! panic, and lenient parsing must always succeed.

#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use rampart_connector_syslog::parse::framing::{FrameDecoder, FramingConfig, Oversize};
use rampart_connector_syslog::parse::{cef, cisco, leef, parse, rfc3164, rfc5424, ParseOptions};
use rampart_connector_syslog::record::{to_ecs, to_schemaless, to_struct, Received};
use rampart_connector_syslog::relp::RelpDecoder;

fuzz_target!(|data: &[u8]| {
    let received = Received {
        at: Utc
            .with_ymd_and_hms(2027, 1, 1, 0, 0, 3)
            .single()
            .unwrap_or_default(),
        remote: "10.1.2.3:514".parse().ok(),
    };
    for options in [ParseOptions::lenient(), ParseOptions::strict()] {
        let result = parse(data, received.at, &options);
        if !options.strict {
            assert!(result.is_ok());
        }
        if let Ok(m) = result {
            assert!(to_struct(&m, &received).validate().is_ok());
            let _ = to_schemaless(&m, &received);
            let _ = to_ecs(&m, &received);
        }
        let _ = rfc5424::parse(data, &options);
        let _ = rfc3164::parse(data, received.at, &options);
    }
    let text = String::from_utf8_lossy(data);
    let _ = cef::parse(&text);
    let _ = leef::parse(&text);
    let _ = cisco::parse(&text);

    // The first byte picks the framing settings and where the input is cut.
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let config = FramingConfig {
        max_message_size: 1 + usize::from(control & 0x3f),
        oversize: if control & 0x40 == 0 {
            Oversize::Truncate
        } else {
            Oversize::Reject
        },
        nul_delimiter: control & 0x80 != 0,
    };
    let cut = usize::from(control).min(stream.len());
    let mut decoder = FrameDecoder::new(config.clone());
    let mut buffer = Vec::new();
    for read in [&stream[..cut], &stream[cut..]] {
        buffer.extend_from_slice(read);
        let consumed = decoder.decode_all(&buffer, |_, _| {});
        assert!(consumed <= buffer.len());
        buffer.drain(..consumed);
    }
    while let Some(step) = decoder.decode_eof(&buffer) {
        assert!(step.consumed > 0 && step.consumed <= buffer.len());
        buffer.drain(..step.consumed);
    }

    // RELP frames, cut the same way: errors are fine, panics are not, and
    // no frame carries more data than the limit.
    let mut relp = RelpDecoder::new(config.max_message_size, config.oversize);
    let mut buffer = Vec::new();
    for read in [&stream[..cut], &stream[cut..]] {
        buffer.extend_from_slice(read);
        let Ok(consumed) = relp.decode(&buffer, |f| {
            assert!(f.data.len() <= config.max_message_size);
        }) else {
            return;
        };
        assert!(consumed <= buffer.len());
        buffer.drain(..consumed);
    }
});
