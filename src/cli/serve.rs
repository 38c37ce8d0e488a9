//! `planledger serve`: opens the ledger (loading the seed ledgers into a new data dir), binds, prints the URL, and
//! runs the HTTP API until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use planledger::core::record::split_lines;
use planledger::store::ledger::Ledger;

use super::plantables::Manifest;
use super::{CACHE_EVERY, ledger_error, ledger_exists, open_existing, refused};

pub fn run(data: &Path, addr: SocketAddr, seeds: &Path) -> Result<ExitCode> {
    if ledger_exists(data) {
        writable_or_refuse(data)?;
    }
    let ledger = if ledger_exists(data) { open_existing(data)? } else { seed(data, seeds)? };
    // The command line beside the server reaches the ledger through it; the socket goes when the server does.
    let _admin = super::admin::listen(data, &ledger)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr().context("the bound address")?;
        // Before the URL is printed: whoever reads it may signal at once.
        let shutdown = planledger::web::shutdown_signal().context("installing the signal handlers")?;
        announce(format_args!(
            "planledger serves {} on http://{local}/ (the portal; the API is under http://{local}/api/)",
            data.display()
        ));
        announce(format_args!(
            "the command line reaches this ledger while it runs: `planledger --data {} <command>`",
            data.display()
        ));
        planledger::web::serve(ledger, listener, shutdown).await.context("serving")?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Prints a line of what the server says at start. Unlike a command's output, a server's is only a notice: if
/// whoever started it has closed standard output, the server goes on serving instead of ending as a closed pipe
/// ends a command.
fn announce(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{args}").and_then(|()| out.flush());
}

/// Refuses to serve a data dir on a disk that takes no writes (exit 75), before anything in it is touched.
fn writable_or_refuse(data: &Path) -> Result<()> {
    use planledger::store::DiskRefusal;
    let Err(e) = planledger::store::copy::probe_writable(data) else { return Ok(()) };
    let why = match e.disk_refusal() {
        Some(DiskRefusal::ReadOnly) => "it is on a read-only disk: make it writable (e.g. `mount -o remount,rw`)",
        Some(DiskRefusal::Full) => "the disk holding it is full: free space on it",
        Some(DiskRefusal::Quota) => "the disk quota of this user is used up on it: free space or raise the quota",
        None => "files cannot be written in it",
    };
    Err(super::Exit::Unavailable(format!(
        "cannot serve {}: {why}, then start again ({e}). Nothing was changed; commands that only read (verify, \
         export, backup, show, …) work on it as it is",
        data.display()
    ))
    .into())
}

/// Creates a ledger in `data` and imports the seed ledger files the manifest lists, all or nothing: on failure
/// what was created is removed again.
fn seed(data: &Path, manifest: &Path) -> Result<Ledger> {
    let text = std::fs::read_to_string(manifest).with_context(|| {
        format!(
            "no ledger in {} and no seed manifest at {} (pass --seeds, or run `planledger init`)",
            data.display(),
            manifest.display()
        )
    })?;
    let m: Manifest = toml::from_str(&text).map_err(|e| refused(format!("{}: {e}", manifest.display())))?;
    let base = manifest.parent().unwrap_or(Path::new("."));
    let mut lines = Vec::new();
    for e in &m.seed {
        let p = base.join(&e.ledger);
        let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        lines.extend(split_lines(&bytes).map_err(|e| refused(format!("{}: {}", p.display(), e.what)))?);
    }
    let before: Vec<_> = match std::fs::read_dir(data) {
        Ok(d) => d.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    let existed = data.exists();
    let ledger = Ledger::create(data, None).map_err(ledger_error)?;
    let n = lines.len();
    match ledger.import_blocking(lines) {
        Ok(head) => {
            if let Some(n) = CACHE_EVERY.get() {
                ledger.set_cache_every(*n);
            }
            outln!(
                "created a ledger in {} with the {} seed ledgers of {}: {n} events, head {}",
                data.display(),
                m.seed.len(),
                manifest.display(),
                head.hash
            );
            Ok(ledger)
        }
        Err(e) => {
            ledger.close();
            let cleanup = if existed {
                std::fs::read_dir(data)
                    .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| !before.contains(p)).collect())
                    .unwrap_or_default()
            } else {
                vec![data.to_path_buf()]
            };
            for p in cleanup {
                let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            }
            Err(ledger_error(e))
        }
    }
}
