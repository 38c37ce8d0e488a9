//! The soak: one server for minutes under steady writes and reads, sampling its RSS and open fds.

use std::path::Path;

use crate::{Fail, Opts};

pub fn run(_o: &Opts, _dir: &Path, _work: &Path, _token: &str) -> Result<bool, Fail> {
    Err("not yet".into())
}
