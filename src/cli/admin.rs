//! The command line beside a running server. sled admits one process per data dir, so while `serve` holds the store
//! the command line sends its command over a Unix socket in the data dir (`admin/socket`, in a folder only the
//! owner may enter) and the server runs it on its own open ledger, exactly as the command line would, and streams
//! back what it prints, then its exit code. Nothing is reachable over the network this way.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use planledger::store::ledger::Ledger;
use serde::{Deserialize, Serialize};

use super::defs::{Cli, Cmd};

/// The folder and socket the server listens on, in the data dir.
fn socket_path(data: &Path) -> PathBuf {
    data.join("admin").join("socket")
}

#[derive(Serialize, Deserialize)]
struct Request {
    /// The command line's arguments, the program name first.
    args: Vec<String>,
    /// The caller's working directory: relative paths in the arguments are the caller's.
    cwd: PathBuf,
}

/// The end of an answer: the command's exit code and what it said on standard error.
#[derive(Serialize, Deserialize)]
struct Response {
    code: u8,
    stderr: String,
}

/// The answer on the socket is a run of frames, each a kind byte, a 4-byte big-endian length and that many bytes:
/// `O`, a piece of the command's standard output, as it prints it (so an export of any size streams through and
/// is never held whole), then one `R`, the [`Response`] as JSON.
const OUTPUT: u8 = b'O';
const END: u8 = b'R';
/// Longest frame a caller takes: the server sends at most its buffer's size (64 KiB) of output at a time.
const FRAME_MAX: usize = 16 << 20;

fn send(w: &mut impl Write, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| std::io::Error::other("an admin socket frame over 4 GiB"))?;
    let mut head = [kind, 0, 0, 0, 0];
    head[1..].copy_from_slice(&len.to_be_bytes());
    w.write_all(&head)?;
    w.write_all(payload)
}

/// The command's standard output, as `O` frames on the socket.
struct Frames(UnixStream);

impl Write for Frames {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        send(&mut self.0, OUTPUT, b)?;
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

std::thread_local! {
    /// The server's ledger, on a thread running a command for the admin socket.
    static SERVING: std::cell::RefCell<Option<Ledger>> = const { std::cell::RefCell::new(None) };
}

/// The running server's ledger when this thread runs a command for the admin socket.
pub(crate) fn serving() -> Option<Ledger> {
    SERVING.with(|s| s.borrow().clone())
}

/// Whether the command works on the data dir's ledger (and so goes to a running server), as opposed to files of
/// its own, a new data dir, or the whole store (`serve`, `repair`).
fn uses_the_ledger(cmd: &Cmd) -> bool {
    match cmd {
        #[cfg(feature = "web")]
        Cmd::Serve { .. } => false,
        Cmd::Init { .. }
        | Cmd::Repair { .. }
        | Cmd::Backup { .. }
        | Cmd::VerifyBackup { .. }
        | Cmd::VerifyBundle { .. }
        | Cmd::BuildSeeds { .. }
        | Cmd::Bench(_)
        | Cmd::BenchProofs(_)
        | Cmd::BenchTimetravel(_) => false,
        Cmd::Verify { file, .. } => file.is_empty(),
        Cmd::VerifySnapshot { ledger, .. } => ledger.is_empty(),
        _ => true,
    }
}

/// Sends the command to the server holding the data dir, when one is listening and the command works on the
/// ledger; `None` when the command is to run here.
pub fn forward(cli: &Cli) -> Result<Option<ExitCode>> {
    let path = socket_path(&cli.data);
    if !uses_the_ledger(&cli.cmd) {
        if matches!(cli.cmd, Cmd::Repair { .. } | Cmd::Init { .. }) && UnixStream::connect(&path).is_ok() {
            return Err(super::refused(format!(
                "a server holds {}: stop `serve` first (repair and init need the data dir to themselves)",
                cli.data.display()
            )));
        }
        return Ok(None);
    }
    let Ok(mut stream) = UnixStream::connect(&path) else { return Ok(None) };
    let req =
        Request { args: std::env::args().collect(), cwd: std::env::current_dir().context("the working directory")? };
    let mut line = serde_json::to_vec(&req)?;
    line.push(b'\n');
    stream.write_all(&line).with_context(|| format!("writing to {}", path.display()))?;
    let place = || format!("the server's answer on {} (did it stop?)", path.display());
    let mut answer = BufReader::new(stream);
    let mut stdout = std::io::stdout().lock();
    loop {
        let mut head = [0u8; 5];
        answer.read_exact(&mut head).with_context(place)?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > FRAME_MAX {
            anyhow::bail!("{}: a frame of {len} bytes", place());
        }
        let mut payload = vec![0u8; len];
        answer.read_exact(&mut payload).with_context(place)?;
        match head[0] {
            OUTPUT => stdout.write_all(&payload)?,
            END => {
                stdout.flush()?;
                let resp: Response = serde_json::from_slice(&payload).with_context(place)?;
                eprint!("{}", resp.stderr);
                return Ok(Some(ExitCode::from(resp.code)));
            }
            kind => anyhow::bail!("{}: a frame of unknown kind {kind}", place()),
        }
    }
}

/// Makes a path of the caller's absolute.
fn at(cwd: &Path, p: &mut PathBuf) {
    if p.is_relative() {
        *p = cwd.join(&*p);
    }
}

/// Makes every path the command names the caller's.
fn absolutize(cmd: &mut Cmd, cwd: &Path) {
    match cmd {
        Cmd::Import { files } => files.iter_mut().for_each(|p| at(cwd, p)),
        Cmd::Export { out } | Cmd::Snapshot { out, .. } => out.iter_mut().for_each(|p| at(cwd, p)),
        Cmd::Verify { file, since, checkpoint, .. } => {
            file.iter_mut().chain(since.iter_mut()).chain(checkpoint.iter_mut()).for_each(|p| at(cwd, p));
        }
        Cmd::Bundle { out, .. } => at(cwd, out),
        Cmd::VerifySnapshot { file, ledger, .. } => {
            at(cwd, file);
            ledger.iter_mut().for_each(|p| at(cwd, p));
        }
        Cmd::ImportPlan { file, .. } => at(cwd, file),
        _ => {}
    }
}

/// Runs one request on the server's ledger, its output streamed to `output`.
fn answer(ledger: &Ledger, data: &Path, req: Request, output: UnixStream) -> Response {
    let mut cli = match Cli::try_parse_from(&req.args) {
        Ok(c) => c,
        Err(e) => return Response { code: 2, stderr: e.to_string() },
    };
    if !uses_the_ledger(&cli.cmd) {
        return Response {
            code: 2,
            stderr: "error: this command does not run beside a running server: stop `serve` first\n".into(),
        };
    }
    absolutize(&mut cli.cmd, &req.cwd);
    // The server's data dir, whatever spelling the caller used.
    cli.data = data.to_path_buf();
    SERVING.with(|s| *s.borrow_mut() = Some(ledger.clone()));
    super::out::capture(Box::new(BufWriter::with_capacity(64 << 10, Frames(output))));
    let r = super::execute(cli);
    // What is still buffered goes before the end frame; a caller that went away has nothing left to be told.
    if let Some(mut sink) = super::out::release() {
        let _ = sink.flush();
    }
    SERVING.with(|s| *s.borrow_mut() = None);
    match r {
        Ok(c) if c == ExitCode::SUCCESS => Response { code: 0, stderr: String::new() },
        Ok(_) => Response { code: 1, stderr: String::new() },
        Err(e) => Response { code: super::exit_code(&e), stderr: format!("error: {e:#}\n") },
    }
}

/// The server's end: listens until dropped, one thread per connection.
pub struct AdminSocket {
    path: PathBuf,
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Starts listening on the data dir's admin socket for the server holding `ledger`.
pub fn listen(data: &Path, ledger: &Ledger) -> Result<AdminSocket> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(data);
    let folder = path.parent().unwrap_or(data);
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    // The folder's mode is the access control: only the data dir's owner may reach the socket.
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {}", folder.display()))?;
    // This process holds the data dir's lock, so a socket file here is one a killed server left behind.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))?;
    let (ledger, data) = (ledger.clone(), data.to_path_buf());
    std::thread::Builder::new()
        .name("planledger-admin".into())
        .spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (ledger, data) = (ledger.clone(), data.clone());
                let _ = std::thread::Builder::new().name("planledger-admin-command".into()).spawn(move || {
                    if let Err(e) = serve_one(stream, &ledger, &data) {
                        tracing::warn!(error = %e, "an admin socket request failed");
                    }
                });
            }
        })
        .context("starting the admin socket's thread")?;
    Ok(AdminSocket { path })
}

fn serve_one(stream: UnixStream, ledger: &Ledger, data: &Path) -> Result<()> {
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let req: Request = serde_json::from_str(&line).context("an admin request that is not JSON")?;
    tracing::info!(args = ?req.args, "admin socket command");
    let resp = answer(ledger, data, req, stream.try_clone()?);
    send(&mut &stream, END, &serde_json::to_vec(&resp)?)?;
    Ok(())
}
