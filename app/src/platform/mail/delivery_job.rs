//! The `mail.deliver` job: hands a queued message to the transport, retrying temporary
//! failures with the queue's backoff.

use super::{MailError, Mailer, OutgoingMail};
use crate::platform::jobs::{ClaimedJob, JobError, JobFuture, JobHandler};

pub const MAIL_JOB: &str = "mail.deliver";

pub struct MailDelivery {
    mailer: Mailer,
}

impl MailDelivery {
    pub fn new(mailer: Mailer) -> Self {
        MailDelivery { mailer }
    }
}

impl JobHandler for MailDelivery {
    fn kind(&self) -> &'static str {
        MAIL_JOB
    }

    fn run<'a>(&'a self, job: &'a ClaimedJob) -> JobFuture<'a> {
        Box::pin(async move {
            let mail: OutgoingMail = job.payload()?;
            self.mailer.deliver(&mail).await.map_err(|error| match error {
                MailError::Temporary(message) => JobError::Retry(message),
                MailError::Permanent(message) => JobError::Permanent(message),
            })
        })
    }
}
