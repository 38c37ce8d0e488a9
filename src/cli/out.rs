//! Where a command's output goes: standard output, or, for a command the running server executes for the command
//! line over its admin socket, a buffer sent back to the caller. Every command prints through `outln!`/`out!`.

use std::cell::RefCell;
use std::io::Write;

thread_local! {
    static SINK: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Sends this thread's output into a buffer until [`take`].
pub fn capture() {
    SINK.with(|s| *s.borrow_mut() = Some(Vec::new()));
}

/// The output captured on this thread since [`capture`], and back to standard output.
pub fn take() -> Vec<u8> {
    SINK.with(|s| s.borrow_mut().take()).unwrap_or_default()
}

/// Writes to the buffer when capturing, else to standard output (whose failure, a closed pipe, panics as
/// `print!` does and is handled in `main`).
pub fn write(args: std::fmt::Arguments<'_>) {
    let captured = SINK.with(|s| match s.borrow_mut().as_mut() {
        Some(buf) => {
            let _ = buf.write_fmt(args);
            true
        }
        None => false,
    });
    if !captured {
        print!("{args}");
    }
}

/// A writer for bulk output (the export): the buffer when capturing, else standard output.
pub fn stdout() -> Box<dyn Write> {
    if SINK.with(|s| s.borrow().is_some()) {
        Box::new(Captured)
    } else {
        Box::new(std::io::BufWriter::new(std::io::stdout().lock()))
    }
}

struct Captured;

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        SINK.with(|s| {
            if let Some(buf) = s.borrow_mut().as_mut() {
                buf.extend_from_slice(b);
            }
        });
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

macro_rules! outln {
    () => { $crate::cli::out::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::cli::out::write(format_args!("{}\n", format_args!($($t)*))) };
}

macro_rules! out {
    ($($t:tt)*) => { $crate::cli::out::write(format_args!($($t)*)) };
}
