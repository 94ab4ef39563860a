//! Where each setting's value came from, for `/help` and `doctor`.
//!
//! For the flags clap resolves, the origin is clap's own answer
//! (`ArgMatches::value_source`): command line, environment or default.

use std::fmt;

use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, as typed (`--model`).
    Flag(String),
    /// An environment variable.
    Env(String),
    Default,
}

impl Source {
    pub(crate) fn flag(name: &str) -> Source {
        Source::Flag(name.to_string())
    }

    pub(crate) fn env(name: &str) -> Source {
        Source::Env(name.to_string())
    }

    /// The origin of clap argument `id`, named the way the user set it.
    pub(crate) fn of(cmd: &Command, matches: &ArgMatches, id: &str) -> Source {
        let Some(arg) = cmd.get_arguments().find(|a| a.get_id() == id) else {
            return Source::Default;
        };
        match matches.value_source(id) {
            Some(ValueSource::CommandLine) => {
                Source::Flag(format!("--{}", arg.get_long().unwrap_or(id)))
            }
            Some(ValueSource::EnvVariable) => Source::Env(
                arg.get_env()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            _ => Source::Default,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "flag {name}"),
            Source::Env(name) => write!(f, "environment {name}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// One resolved setting, for display.
#[derive(Debug, Clone)]
pub struct Setting {
    pub name: &'static str,
    pub value: String,
    pub source: Source,
}

impl Setting {
    pub(crate) fn new(name: &'static str, value: impl Into<String>, source: Source) -> Setting {
        Setting {
            name,
            value: value.into(),
            source,
        }
    }
}
