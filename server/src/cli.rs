//! The command line: `serve` (default), `migrate`, `seed-demo`, `import`, `create-admin`,
//! `jobs`, `mail`, `data-inventory`, and the `bench-search` / `bench-pipeline` benchmarks.

use crate::startup::{shutdown_signal, Application};
use anyhow::Context;
use app::{
    features::accounts::{
        service::{create_user, NewUser},
        Role,
    },
    platform::{config::Config, db::Database, jobs::JobQueue, jobs::JobStatus, media::MediaStore},
};
use clap::{Parser, Subcommand};
use std::io::BufRead;

#[derive(Parser, Debug)]
#[command(
    name = "server",
    version,
    about = "Atelier: a library of free AI-made images and the studio that makes them."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the site (the default).
    Serve {
        /// Seed the demo library first when the database has no images.
        #[arg(long)]
        seed_demo_if_empty: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Render and store the procedural demo library (contributors, categories, images).
    SeedDemo {
        /// How many images to render.
        #[arg(long, default_value_t = 240, value_parser = clap::value_parser!(u32).range(1..=2000))]
        images: u32,
        /// Seed for the renderer; the same seed gives the same library.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Do nothing when the library already has images.
        #[arg(long)]
        if_empty: bool,
    },
    /// Add a folder of images to the library, described by a JSON or CSV sidecar
    /// (file, title, description, alt_text, prompt, tags, category, contributor).
    Import {
        /// The folder holding the images.
        dir: std::path::PathBuf,
        /// The sidecar; by default images.json or images.csv in the folder.
        #[arg(long)]
        sidecar: Option<std::path::PathBuf>,
    },
    /// Create an administrator account.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Inspect and retry background jobs.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Benchmark: bulk-load synthetic image rows up to `--rows` and print search latency
    /// percentiles with and without filters. Use a throwaway DATABASE_URL.
    BenchSearch {
        #[arg(long, default_value_t = 100_000)]
        rows: u64,
        #[arg(long, default_value_t = 200)]
        samples: u32,
    },
    /// Benchmark: variant pipeline images per second against an `image`-crate baseline.
    BenchPipeline {
        #[arg(long, default_value_t = 12)]
        images: u32,
    },
    /// Print docs/DATA.md, generated from the data inventory
    /// (`server data-inventory > docs/DATA.md`).
    DataInventory,
    /// Read mail written to the local outbox (ATELIER_MAIL_TRANSPORT=outbox).
    Mail {
        #[command(subcommand)]
        action: MailAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum MailAction {
    /// Print the newest message (subject, recipient, text body), optionally to one address.
    Latest {
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum JobsAction {
    /// List recent jobs, newest first.
    List {
        /// Only jobs with this status: queued, running, done or failed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Send failed jobs back to the queue.
    Retry {
        /// The job to retry.
        #[arg(long, conflicts_with = "all_failed", required_unless_present = "all_failed")]
        id: Option<i64>,
        /// Retry every failed job.
        #[arg(long)]
        all_failed: bool,
    },
}

async fn open_database(config: &Config) -> anyhow::Result<Database> {
    let db = Database::connect(&config.database_url, config.db_max_connections)
        .await
        .context("opening the database (DATABASE_URL)")?;
    db.migrate().await?;
    Ok(db)
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve {
        seed_demo_if_empty: false,
    }) {
        Command::Serve { seed_demo_if_empty } => {
            let app = Application::build(config, crate::jobs::registry()).await?;
            if seed_demo_if_empty {
                let state = app.state();
                crate::demo::seed(&state.db, &state.media, crate::demo::SeedOptions::default(), true).await?;
            }
            // Tests and scripts read this line to learn the port when ATELIER_LISTEN ends in :0.
            println!("listening on http://{}", app.local_addr());
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate => {
            open_database(&config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::SeedDemo { images, seed, if_empty } => {
            let db = open_database(&config).await?;
            let media = MediaStore::from_config(&config)?;
            let report = crate::demo::seed(&db, &media, crate::demo::SeedOptions { images, seed }, if_empty).await?;
            println!("{report}");
            Ok(())
        }
        Command::Import { dir, sidecar } => {
            let db = open_database(&config).await?;
            let media = MediaStore::from_config(&config)?;
            let report = crate::import::import(&db, &media, &dir, sidecar.as_deref()).await?;
            for (file, error) in &report.failed {
                eprintln!("import: {file} failed: {error}");
            }
            println!(
                "imported {} images in {:.1} s ({} failed)",
                report.added,
                report.seconds,
                report.failed.len()
            );
            if !report.failed.is_empty() {
                anyhow::bail!("{} images could not be imported; see above", report.failed.len());
            }
            Ok(())
        }
        Command::CreateAdmin {
            email,
            name,
            password_stdin,
        } => {
            let db = open_database(&config).await?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (generate_password(), true)
            };
            let id = create_user(
                &db,
                NewUser {
                    email: &email,
                    display_name: &name,
                    password: &password,
                    role: Role::Admin,
                    email_verified: true,
                },
            )
            .await?;
            println!("created administrator #{id} <{}>", email.trim().to_lowercase());
            if generated {
                println!("password (shown once; store it now): {password}");
            }
            Ok(())
        }
        Command::BenchSearch { rows, samples } => {
            let db = open_database(&config).await?;
            crate::bench::search_latency(&db, rows, samples).await
        }
        Command::BenchPipeline { images } => {
            tokio::task::spawn_blocking(move || crate::bench::pipeline_throughput(images)).await?
        }
        Command::DataInventory => {
            print!("{}", app::features::privacy::inventory::markdown());
            Ok(())
        }
        Command::Mail {
            action: MailAction::Latest { to },
        } => {
            let db = open_database(&config).await?;
            let latest = app::platform::mail::outbox::latest(&db, to.as_deref(), 1).await?;
            let Some(mail) = latest.into_iter().next() else {
                match to {
                    Some(to) => anyhow::bail!("no mail to {to} in the outbox"),
                    None => anyhow::bail!("the outbox is empty"),
                }
            };
            println!("To: {}\nSubject: {}\n\n{}", mail.to, mail.subject, mail.text);
            Ok(())
        }
        Command::Jobs { action } => {
            let db = open_database(&config).await?;
            let queue = JobQueue::new(db);
            match action {
                JobsAction::List { status, limit } => {
                    let status =
                        match status.as_deref() {
                            None => None,
                            Some(raw) => Some(JobStatus::parse(raw).with_context(|| {
                                format!("unknown status “{raw}”: use queued, running, done or failed")
                            })?),
                        };
                    let jobs = queue.list(status, limit.clamp(1, 1000)).await?;
                    if jobs.is_empty() {
                        println!("no jobs");
                    }
                    for job in jobs {
                        println!(
                            "#{:<6} {:<24} {:<8} attempts {}/{}  {}",
                            job.id,
                            job.kind,
                            job.status.as_str(),
                            job.attempts,
                            job.max_attempts,
                            job.last_error.unwrap_or_default()
                        );
                    }
                }
                JobsAction::Retry { id: Some(id), .. } => {
                    if queue.retry(id).await? {
                        println!("job #{id} queued again");
                    } else {
                        anyhow::bail!("job #{id} is not a failed job");
                    }
                }
                JobsAction::Retry { id: None, .. } => {
                    println!("{} failed jobs queued again", queue.retry_all_failed().await?);
                }
            }
            Ok(())
        }
    }
}

/// 20 characters from an unambiguous 55-letter alphabet (about 115 bits), drawn from the
/// operating system's random source with rejection sampling, so every letter is equally likely.
fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut password = String::with_capacity(20);
    let mut buffer = [0u8; 64];
    while password.len() < 20 {
        getrandom::fill(&mut buffer).expect("the operating system's random source is available");
        for byte in buffer.iter().copied().filter(|b| *b < limit) {
            if password.len() < 20 {
                password.push(ALPHABET[byte as usize % ALPHABET.len()] as char);
            }
        }
    }
    password
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_passwords_are_long_and_differ() {
        let first = super::generate_password();
        assert_eq!(first.chars().count(), 20);
        assert_ne!(first, super::generate_password());
        assert!(app::features::accounts::service::check_password_strength(&first).is_ok());
    }
}
