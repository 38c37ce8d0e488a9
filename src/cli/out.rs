//! Where a command's output goes: standard output, or, for a command the running server executes for the command
//! line over its admin socket, a writer that streams it back to the caller. Every command prints through
//! `outln!`/`out!`.

use std::cell::RefCell;
use std::io::Write;

thread_local! {
    static SINK: RefCell<Option<Box<dyn Write>>> = RefCell::new(None);
}

/// Sends this thread's output to `sink` until [`release`].
pub fn capture(sink: Box<dyn Write>) {
    SINK.with(|s| *s.borrow_mut() = Some(sink));
}

/// The writer given to [`capture`], and this thread's output back to standard output.
pub fn release() -> Option<Box<dyn Write>> {
    SINK.with(|s| s.borrow_mut().take())
}

/// Writes to the sink when capturing, else to standard output (whose failure, a closed pipe, panics as `print!`
/// does and is handled in `main`). A sink's failure (the caller went away) is not the command's: it runs to its end.
pub fn write(args: std::fmt::Arguments<'_>) {
    let captured = SINK.with(|s| match s.borrow_mut().as_mut() {
        Some(sink) => {
            let _ = sink.write_fmt(args);
            true
        }
        None => false,
    });
    if !captured {
        print!("{args}");
    }
}

/// A writer for bulk output (the export): the sink when capturing, else standard output. Unlike [`write`], its
/// errors reach the command, so an export whose reader went away stops.
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
        SINK.with(|s| match s.borrow_mut().as_mut() {
            Some(sink) => sink.write(b),
            None => Ok(b.len()),
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        SINK.with(|s| s.borrow_mut().as_mut().map_or(Ok(()), |sink| sink.flush()))
    }
}

macro_rules! outln {
    () => { $crate::cli::out::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::cli::out::write(format_args!("{}\n", format_args!($($t)*))) };
}

macro_rules! out {
    ($($t:tt)*) => { $crate::cli::out::write(format_args!($($t)*)) };
}
