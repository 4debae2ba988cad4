//! Feeds arbitrary bytes to the parser, checker and formatter: none may panic,
//! and formatting a program that parses must give one that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let checked = nesy_lang::check_source("fuzz.nesy", text);
    for d in &checked.diagnostics {
        assert!(d.span.end <= text.len() && text.is_char_boundary(d.span.start));
    }
    if let Ok(formatted) = nesy_lang::format_source(text) {
        let again = nesy_lang::format_source(&formatted).expect("formatted output must parse");
        assert_eq!(again, formatted, "formatting must be idempotent");
    }
});
