//! Entry point: parse the command line, load configuration, run the chosen command.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = server::cli::Cli::parse();
    let config = match app::platform::config::Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("atelier: {error}");
            eprintln!("See .env.example and the configuration table in README.md.");
            return ExitCode::from(2);
        }
    };
    server::telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("atelier: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::cli::run(cli, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("atelier: {error:#}");
            ExitCode::FAILURE
        }
    }
}
