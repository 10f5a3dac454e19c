//! The `lstmcast` command: a thin layer over the library. Flags become a validated config; errors
//! print their whole chain as `error: ...` and exit 1 (usage errors exit 2, from clap).

mod cli;
mod commands;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(unix)]
    // SAFETY: called first, before any other thread exists; SIG_DFL is a valid disposition.
    // Output piped into `head` then ends the process quietly, as with other Unix tools,
    // instead of a panic in `println!` on a closed pipe.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<cli::Exit>() {
                Some(cli::Exit::Usage(_)) => {
                    eprintln!("\nFor more information, try '--help'.");
                    ExitCode::from(2)
                }
                Some(cli::Exit::Interrupted(_)) => ExitCode::from(130),
                None => ExitCode::from(1),
            }
        }
    }
}
