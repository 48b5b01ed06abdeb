//! Feeds pseudo-random and mutated byte strings to every parser, the framer
//! and the record mappings: none may panic, and lenient parsing never fails.

use chrono::{TimeZone, Utc};

use crate::parse::framing::{Frame, FrameDecoder, FramingConfig, Oversize};
use crate::parse::{cef, cisco, leef, parse, rfc3164, rfc5424, ParseOptions};
use crate::record::{to_ecs, to_schemaless, to_struct, Received};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&[u8]] = &[
    b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed",
    br#"<165>1 2003-10-11T22:14:15.003Z host evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\"x\]" eventID="1011"][examplePriority@32473 class="high"] msg"#,
    b"<13>1 - - - - - - \xEF\xBB\xBFhello",
    b"<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8",
    b"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
    b"<34>2026-11-26T11:38:39.123456+00:00 host tag: msg",
    b"<166>Jan 05 2026 10:00:00 fw01 : %ASA-6-302013: Built outbound TCP connection",
    b"<189>25: *Mar  1 18:46:11.123: %LINEPROTO-5-UPDOWN: Line protocol on Interface Vlan1",
    br"CEF:0|security|threat\|manager|1.0|100|worm stopped|10|src=10.0.0.1 msg=a \= b\nc",
    b"<134>Feb 12 10:20:30 fw CEF:0|V|P|1|2|N|3|k=v w",
    b"LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5",
    b"LEEF:1.0|Microsoft|MSExchange|4.0|15345|src=1\tdst=2",
];

const TOKENS: &[&[u8]] = &[
    b"<",
    b">",
    b"<34>",
    b"<191>",
    b"<999>",
    b"1 ",
    b"-",
    b" ",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b"=",
    b"|",
    b":",
    b"%",
    b"CEF:",
    b"LEEF:",
    b"Oct ",
    b" 1 ",
    b"22:14:15",
    b"2003-10-11T",
    b"Z",
    b"+01:00",
    b".",
    b"\xEF\xBB\xBF",
    b"\xff",
    b"\xc3",
    b"\n",
    b"\r",
    b"\0",
    b"123 ",
    b"x=",
    b"[a@1 b=\"",
    b"%ASA-6-",
    b"*Mar  1 ",
    b"^",
    b"\t",
];

fn random_input(rng: &mut Rng) -> Vec<u8> {
    match rng.below(3) {
        0 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        1 => {
            let mut v = Vec::new();
            for _ in 0..rng.below(40) {
                v.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
            }
            v
        }
        _ => {
            let mut v = SEEDS[rng.below(SEEDS.len())].to_vec();
            for _ in 0..=rng.below(4) {
                if v.is_empty() {
                    break;
                }
                let at = rng.below(v.len());
                match rng.below(4) {
                    0 => v[at] = rng.next() as u8,
                    1 => v.truncate(at),
                    2 => {
                        let t = TOKENS[rng.below(TOKENS.len())];
                        v.splice(at..at, t.iter().copied());
                    }
                    _ => {
                        v.remove(at);
                    }
                }
            }
            v
        }
    }
}

fn exercise(input: &[u8], rng: &mut Rng) {
    let received = Received {
        at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 3).unwrap(),
        remote: Some("10.1.2.3:514".parse().unwrap()),
    };
    for options in [ParseOptions::lenient(), ParseOptions::strict()] {
        let result = parse(input, received.at, &options);
        if !options.strict {
            assert!(result.is_ok(), "lenient parse failed on {input:?}");
        }
        if let Ok(m) = result {
            to_struct(&m, &received)
                .validate()
                .unwrap_or_else(|e| panic!("invalid struct for {input:?}: {e}"));
            let _ = to_schemaless(&m, &received);
            let _ = to_ecs(&m, &received);
        }
        let _ = rfc5424::parse(input, &options);
        let _ = rfc3164::parse(input, received.at, &options);
    }
    let text = String::from_utf8_lossy(input);
    let _ = cef::parse(&text);
    let _ = leef::parse(&text);
    let _ = cisco::parse(&text);
    let _ = rfc3164::parse_bsd_time(input);

    // The framer, with the input cut into random reads.
    let config = FramingConfig {
        max_message_size: 1 + rng.below(64),
        oversize: if rng.below(2) == 0 {
            Oversize::Truncate
        } else {
            Oversize::Reject
        },
        nul_delimiter: rng.below(2) == 0,
    };
    let mut decoder = FrameDecoder::new(config.clone());
    let mut buffer = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len());
        buffer.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        let consumed = decoder.decode_all(&buffer, |frame, bytes| {
            if let Frame::Message(_) | Frame::Truncated(_) = frame {
                assert!(bytes.len() <= config.max_message_size);
            }
        });
        assert!(consumed <= buffer.len());
        buffer.drain(..consumed);
        // Never more than max plus a length header and CRLF is held back.
        assert!(buffer.len() <= config.max_message_size + 22, "{input:?}");
    }
    let mut guard = 0;
    while let Some(step) = decoder.decode_eof(&buffer) {
        assert!(step.consumed <= buffer.len());
        buffer.drain(..step.consumed);
        guard += 1;
        assert!(guard < 10_000, "decode_eof does not terminate on {input:?}");
    }
    assert!(buffer.is_empty());
}

#[test]
fn no_input_makes_anything_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let rounds = if cfg!(debug_assertions) {
        20_000
    } else {
        200_000
    };
    for _ in 0..rounds {
        let input = random_input(&mut rng);
        exercise(&input, &mut rng);
    }
    for seed in SEEDS {
        for cut in 0..=seed.len() {
            exercise(&seed[..cut], &mut rng);
        }
    }
}
