//! Feeds arbitrary text to the `.properties` parser that reads worker and
//! connector files: escapes, continuations and odd separators must end in
//! pairs or a clear error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rampart_core::config::parse_properties(&text);
    let _ = rampart_core::config::parse_properties_map(&text);
});
