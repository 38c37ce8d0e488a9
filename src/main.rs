//! The `planledger` command line: parses arguments, runs one command, maps outcomes to exit codes.

mod cli;

use std::process::ExitCode;

/// jemalloc rather than the system allocator: under a read load glibc's malloc kept the pages that requests freed,
/// spread over its per-thread arenas, so a serving process's RSS grew for as long as it ran (docs/DECISIONS.md,
/// "Memory").
#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // `planledger show … | head` closes stdout early; Rust's print macros then panic. A reader that stopped reading
    // is not an error worth a backtrace: leave quietly with the status a shell gives a process ended by SIGPIPE.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg =
            payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied());
        if msg.is_some_and(|m| m.contains("failed printing to stdout") && m.contains("Broken pipe")) {
            std::process::exit(141);
        }
        // A panic inside sled on damaged files, caught by the store's bounded worker and reported as an error
        // naming the damage: no backtrace for it.
        if std::thread::current().name() == Some("planledger-store") {
            return;
        }
        default_hook(info)
    }));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLANLEDGER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // Without its background thread jemalloc returns freed pages only while the process allocates; with it, pages
    // left dirty go back to the system within seconds (its default decay) even when the server is idle.
    #[cfg(all(unix, not(target_env = "musl")))]
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!("the allocator's background purge thread could not be started: {e}");
    }
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = cli::exit_code(&e);
            if code == 74 && !format!("{e:#}").contains("planledger repair") {
                eprintln!(
                    "the store is damaged or cannot be read; nothing was changed. `planledger repair` (with the same \
                     --data) rebuilds it from the copy of the record that verifies, keeping the old files"
                );
            }
            ExitCode::from(code)
        }
    }
}
