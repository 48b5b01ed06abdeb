//! Feeds arbitrary bytes to the JsonConverter's deserialisation, as a sink
//! task reads them from Kafka, with and without schema envelopes (whose
//! schemas are parsed too). A record nobody validated must never make a
//! task panic: it is a DataException, for errors.tolerance and the DLQ.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::converter::{Converter, JsonConverter, JsonConverterConfig};

fuzz_target!(|data: &[u8]| {
    for schemas_enable in [true, false] {
        let converter = JsonConverter::new(
            JsonConverterConfig {
                schemas_enable,
                ..JsonConverterConfig::default()
            },
            false,
        );
        // What comes back must also go out again without a panic.
        if let Ok(read) = converter.to_connect("topic", Some(data)) {
            let _ = converter.from_connect("topic", read.schema.as_ref(), &read.value);
        }
    }
});
