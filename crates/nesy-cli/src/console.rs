//! Printing that never panics. `println!` panics when standard output is
//! closed or full, and `eprintln!` when standard error is; in a panic hook
//! that panics again, the process aborts. Here a failed write to standard
//! error is ignored (there is nowhere left to say anything), and a failed
//! write to standard output is remembered: the command then exits with
//! status 1 (a closed pipe, as in `nesy run | head`, quietly).
//! It also keeps `--color`, which every command's diagnostics follow.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Whether diagnostics are colored (`--color`), set once at start.
static COLOR: AtomicBool = AtomicBool::new(false);

/// Sets whether diagnostics are colored.
pub(crate) fn set_color(on: bool) {
    COLOR.store(on, Ordering::Relaxed);
}

/// Whether diagnostics are colored.
pub(crate) fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

/// 0: fine; 1: the reader went away; 2: another write error.
static STDOUT: AtomicU8 = AtomicU8::new(0);

/// What the first failed write to standard output said.
static REASON: OnceLock<String> = OnceLock::new();

/// Writes to standard output, remembering a failure.
pub(crate) fn print_out(args: std::fmt::Arguments<'_>) {
    if STDOUT.load(Ordering::Relaxed) != 0 {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        fail(&e);
    }
}

/// Remembers that standard output failed.
pub(crate) fn fail(e: &std::io::Error) {
    let code = if e.kind() == std::io::ErrorKind::BrokenPipe {
        1
    } else {
        2
    };
    if STDOUT
        .compare_exchange(0, code, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok()
    {
        let _ = REASON.set(e.to_string());
    }
}

/// Why standard output failed, if it did.
pub(crate) fn reason() -> &'static str {
    REASON.get().map_or("", String::as_str)
}

/// Writes to standard error; a failure is ignored.
pub(crate) fn print_err(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// Whether standard output failed, and how: `Some(true)` for a closed
/// pipe.
pub(crate) fn stdout_failed() -> Option<bool> {
    match STDOUT.load(Ordering::Relaxed) {
        0 => None,
        1 => Some(true),
        _ => Some(false),
    }
}

// Used through `#[macro_use]` on the module: declared before the others.

/// `print!` that never panics.
macro_rules! out {
    ($($arg:tt)*) => { $crate::console::print_out(format_args!($($arg)*)) };
}

/// `println!` that never panics.
macro_rules! outln {
    () => { $crate::console::print_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` that never panics.
macro_rules! err {
    ($($arg:tt)*) => { $crate::console::print_err(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    () => { $crate::console::print_err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print_err(format_args!("{}\n", format_args!($($arg)*))) };
}
