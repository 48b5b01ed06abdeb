//! Golden tests over `testdata/parse/*.json` and a no-panic property test
//! over pseudo-random bytes.

mod golden;
mod loghub;
mod no_panic;
