//! `planledger token create|list|revoke`: the API tokens of the data directory, managed at the console (the server
//! must not be running: the store takes one process; a running server manages them at `/api/tokens`).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use planledger::core::domain::Role;
use planledger::store::tokens::{TokenError, TokenSpec};

use super::{open_existing, refused};

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Create a token and print its secret, once: only its hash is stored.
    Create {
        /// The actor id its events carry (ASCII letters, digits, '.', '_', '-'), unique among live tokens.
        #[arg(long)]
        name: String,
        /// admin, editor, reporter or auditor.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A department (担当課) whose nodes and indicators it may change, as the plans name it; repeat for more.
        #[arg(long = "department")]
        departments: Vec<String>,
        /// The actor's name as people read it (default: --name).
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id or its live name; the server refuses it from its next request on.
    Revoke { token: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse("--role", s).map_err(|e| e.reason)
}

fn token_error(e: TokenError) -> anyhow::Error {
    match e {
        TokenError::Invalid(d) => refused(format!("{}: {}", d.field, d.reason)),
        other => anyhow::anyhow!(other),
    }
}

pub fn run(data: &Path, cmd: TokenCmd) -> Result<ExitCode> {
    let ledger = open_existing(data)?;
    match cmd {
        TokenCmd::Create { name, role, departments, display_name, json } => {
            let spec = TokenSpec { name, display_name, role, departments };
            let t = ledger.create_token(&spec).map_err(token_error)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&t)?);
            } else {
                outln!("{}", t.secret);
                eprintln!(
                    "token {} ({}, {}) created; the secret above is shown this once: keep it, only its hash is stored",
                    t.token.id, t.token.name, t.token.role
                );
            }
        }
        TokenCmd::List { json } => {
            let all = ledger.tokens().map_err(token_error)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                outln!("no tokens");
            } else {
                for t in all {
                    let state = match t.revoked_at {
                        Some(at) => format!("revoked {}", at.to_rfc3339()),
                        None => "live".to_string(),
                    };
                    outln!(
                        "{}  {:<24} {:<8} {}  created {}  [{}]",
                        t.id,
                        t.name,
                        t.role.as_str(),
                        state,
                        t.created_at.to_rfc3339(),
                        t.departments.join("、")
                    );
                }
            }
        }
        TokenCmd::Revoke { token } => {
            let t = ledger.revoke_token(&token).map_err(token_error)?;
            outln!("revoked token {} ({})", t.id, t.name);
        }
    }
    ledger.close();
    Ok(ExitCode::SUCCESS)
}
