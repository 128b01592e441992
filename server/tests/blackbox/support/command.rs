//! Runs the server binary's subcommands the way an operator would, against the test
//! database and a temporary data folder.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

pub fn server(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the server binary starts");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

pub async fn database_env(dir: &std::path::Path) -> Vec<(String, String)> {
    super::test_config_values(dir)
        .await
        .into_iter()
        .filter(|(k, _)| k == "DATABASE_URL" || k == "ATELIER_MEDIA_DIR" || k == "ATELIER_DATA_DIR")
        .collect()
}

pub fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
