//! Ledger files read for `import` a line at a time, so that a large file is never held whole in memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use planledger::core::record::VerifyError;

/// Longest line taken as a record (a record is a few KB; a longer "line" is not one).
const MAX_LINE: u64 = 16 * 1024 * 1024;

/// The lines of `files` in order, each without its newline. A file must end with a newline; a file that cannot
/// be read, or a line over the bound, ends the import with the file and line named.
pub fn lines_of(files: Vec<PathBuf>) -> impl Iterator<Item = Result<Vec<u8>, VerifyError>> + Send {
    let mut files = files.into_iter();
    let mut current: Option<(PathBuf, BufReader<File>, u64)> = None;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        loop {
            if current.is_none() {
                let path = files.next()?;
                match File::open(&path) {
                    Ok(f) => current = Some((path, BufReader::new(f), 0)),
                    Err(e) => {
                        failed = true;
                        return Some(Err(refusal(format!("reading {}: {e}", path.display()))));
                    }
                }
            }
            let (path, reader, n) = current.as_mut()?;
            let mut line = Vec::new();
            match Read::take(&mut *reader, MAX_LINE + 1).read_until(b'\n', &mut line) {
                Ok(0) => current = None,
                Ok(_) if !line.ends_with(b"\n") => {
                    failed = true;
                    let what = if line.len() as u64 > MAX_LINE {
                        format!("{} line {}: longer than {MAX_LINE} bytes", path.display(), *n + 1)
                    } else {
                        format!("{}: the file does not end with a newline (truncated?)", path.display())
                    };
                    return Some(Err(refusal(what)));
                }
                Ok(_) => {
                    *n += 1;
                    line.pop();
                    return Some(Ok(line));
                }
                Err(e) => {
                    failed = true;
                    return Some(Err(refusal(format!("reading {} line {}: {e}", path.display(), *n + 1))));
                }
            }
        }
    })
}

/// A line that could not be read; the writer fills in the seq it would have had.
fn refusal(what: String) -> VerifyError {
    VerifyError { seq: 0, what }
}
