//! How a command fails, and the exit status it ends with: 1 when what was
//! asked for failed, 2 when the command line was wrong.

use std::process::ExitCode;

/// A command's failure.
#[derive(Debug)]
pub(crate) enum CliError {
    /// Exit 2: the command line was wrong (`error: ...` is printed).
    Usage(String),
    /// Exit 1: what was asked for failed (`error: ...` is printed).
    Failed(String),
    /// Exit 1: loading or running a program failed (rule errors are
    /// shown with their carets).
    Engine(Box<nesy::Error>),
    /// Exit 1: the reason has been printed already (rule diagnostics with
    /// their carets, failed tests).
    Reported,
}

/// What a command returns.
pub(crate) type CliResult = Result<ExitCode, CliError>;

/// A failure with its message.
pub(crate) fn fail(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

/// A failure with the error's message and, when it has one, its help.
pub(crate) fn fail_with_help(e: &(impl miette::Diagnostic + std::fmt::Display)) -> CliError {
    match e.help() {
        Some(help) => CliError::Failed(format!("{e}\nhelp: {help}")),
        None => CliError::Failed(e.to_string()),
    }
}

impl From<nesy::kg::KgError> for CliError {
    fn from(e: nesy::kg::KgError) -> Self {
        fail_with_help(&e)
    }
}

impl From<nesy::Error> for CliError {
    fn from(e: nesy::Error) -> Self {
        CliError::Engine(Box::new(e))
    }
}

impl CliError {
    /// Says what went wrong (unless it has been said) and gives the exit
    /// status.
    pub(crate) fn exit(self) -> ExitCode {
        match self {
            CliError::Usage(message) => {
                errln!("error: {message}");
                ExitCode::from(2)
            }
            CliError::Failed(message) => {
                errln!("error: {message}");
                ExitCode::FAILURE
            }
            CliError::Engine(e) => {
                crate::diagnostics::report(&e);
                ExitCode::FAILURE
            }
            CliError::Reported => ExitCode::FAILURE,
        }
    }
}
