//! The server binary run as an operator runs it (`server serve`): its own process on an
//! ephemeral loopback port, its log in a file the test reads afterwards. It runs under
//! coreutils' `timeout`, so a test that dies before stopping it leaves nothing running.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, Stdio},
};

pub struct ServedBinary {
    child: Child,
    stdout: ChildStdout,
    banner: String,
    log_path: PathBuf,
    /// `http://127.0.0.1:<port>`, from the "listening on …" line the server prints first.
    pub base_url: String,
}

impl ServedBinary {
    /// Starts `server serve` in `dir` with exactly `env` (plus `PATH`) and `RUST_LOG`, and
    /// waits for it to listen. It is ended after `deadline_secs` whatever happens. The
    /// binary is this build's, or `ATELIER_SERVER_BIN` when set (to run a test against
    /// another build, such as one from before a fix).
    pub fn start(dir: &Path, env: &[(String, String)], rust_log: &str, deadline_secs: u32) -> Self {
        let log_path = dir.join(format!("server-{}.log", super::unique_suffix()));
        let mut child = Command::new("timeout")
            .args([&deadline_secs.to_string(), &binary(), "serve"])
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().cloned())
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log_path).expect("a log file")))
            .spawn()
            .expect("the server binary starts");
        let mut stdout = child.stdout.take().expect("the server's stdout");
        let mut banner = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            banner.push(byte[0]);
        }
        let banner = String::from_utf8(banner).expect("a UTF-8 banner");
        let base_url = banner
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("the server did not start: {banner:?}\n{log}")
            })
            .to_owned();
        Self {
            child,
            stdout,
            banner,
            log_path,
            base_url,
        }
    }

    /// Asks the server to stop gracefully (SIGTERM to `timeout`, which passes it on), waits
    /// for it and returns everything it printed: stdout and its log.
    pub fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        format!("{}\n{rest}{log}", self.banner)
    }
}

impl ServedBinary {
    /// Kills the server with SIGKILL, as a crash or an OOM killer would: no shutdown, no
    /// flushing. (The child is `timeout`; the server is its child.)
    pub fn kill_hard(mut self) {
        let timeout_pid = self.child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{timeout_pid}/task/{timeout_pid}/children")).unwrap_or_default();
        for pid in children.split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The server's own process id (the child of `timeout`), to read its memory and open
    /// files from /proc.
    pub fn server_pid(&self) -> Option<u32> {
        let timeout_pid = self.child.id();
        std::fs::read_to_string(format!("/proc/{timeout_pid}/task/{timeout_pid}/children"))
            .ok()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

fn binary() -> String {
    std::env::var("ATELIER_SERVER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_server").to_owned())
}

/// Seeds the demo library of the site `env` configures (`server seed-demo` with `args`) and
/// connects to its database, for the tests that then start the binary on it.
pub async fn seed_and_connect(dir: &Path, env: &[(String, String)], args: &[&str]) -> app::platform::db::Database {
    let mut command_args = vec!["seed-demo"];
    command_args.extend_from_slice(args);
    let seeded = super::command::server(dir, &super::command::as_refs(env), &command_args, None);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let url = &env
        .iter()
        .find(|(key, _)| key == "DATABASE_URL")
        .expect("a database URL")
        .1;
    app::platform::db::Database::connect(url, 2)
        .await
        .expect("the test database")
}

/// Signs `email` in with the tests' shared password on the server at `base`; the session
/// cookie (`name=value`).
pub async fn sign_in(http: &reqwest::Client, base: &str, email: &str) -> String {
    use leptos::server_fn::ServerFn;
    let response = http
        .post(format!("{base}{}", app::features::accounts::api::SignIn::PATH))
        .form(&[("email", email), ("password", super::members::PASSWORD)])
        .send()
        .await
        .expect("the server answers");
    super::members::session_cookie(&response)
}
