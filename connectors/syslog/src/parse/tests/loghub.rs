//! Every line of the loghub samples (`testdata/loghub`, see its LICENSE)
//! parses strictly, with a timestamp, the host and the program.

use std::path::Path;

use chrono::{TimeZone, Utc};

use crate::parse::{parse, Format, ParseOptions};

#[test]
fn loghub_lines_parse_strictly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/loghub");
    let received = Utc.with_ymd_and_hms(2006, 1, 3, 0, 0, 0).unwrap();
    let mut count = 0;
    for (file, host) in [("OpenSSH_200.log", "LabSZ"), ("Linux_200.log", "combo")] {
        let text = std::fs::read(dir.join(file)).unwrap();
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let m = parse(line, received, &ParseOptions::strict())
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
            assert_eq!(m.format, Format::Rfc3164);
            assert!(m.timestamp.is_some());
            assert_eq!(m.hostname.as_deref(), Some(host));
            assert!(m.error.is_none());
            count += 1;
        }
    }
    assert_eq!(count, 400);
}
