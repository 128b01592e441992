//! Abuse limits for the account endpoints (sign-in, sign-up, password reset, verification
//! mail), for starting payments, for chat messages and for cookie decisions: GCRA (governor) per client IP and per account. Limits slow attackers down without
//! ever locking a victim out: a limited caller only waits.

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{num::NonZeroU32, sync::Arc, time::Duration};

/// One limit per endpoint family.
#[derive(Clone)]
pub struct AuthRateLimits {
    /// Password attempts.
    pub sign_in: PairLimit,
    /// Account creation (the account key is the email asked for).
    pub sign_up: PairLimit,
    /// Mails with links: password reset and verification resends. Each one lands in
    /// somebody's inbox, so these are the strictest.
    pub mail_links: PairLimit,
    /// Checkout and billing portal sessions: each is a call to Stripe that makes something.
    pub payments: PairLimit,
    /// Chat messages: each one is a call to the model.
    pub chat: PairLimit,
    /// Cookie decisions (the account key is the browser's consent id): they need no
    /// account, and each new one is a stored consent record.
    pub consent: PairLimit,
}

impl Default for AuthRateLimits {
    fn default() -> Self {
        AuthRateLimits {
            // 20 attempts per IP and 6 per account in a burst, refilling one every 3 s / 20 s.
            sign_in: PairLimit::new(20, Duration::from_secs(3), 6, Duration::from_secs(20)),
            // 10 sign-ups per IP, then one a minute; 3 attempts per address, then one a minute.
            sign_up: PairLimit::new(10, Duration::from_secs(60), 3, Duration::from_secs(60)),
            // 10 mails per IP, then one a minute; 3 per account, then one every 5 minutes.
            mail_links: PairLimit::new(10, Duration::from_secs(60), 3, Duration::from_secs(300)),
            // 20 per IP, then one every 6 s; 10 per member, then one a minute.
            payments: PairLimit::new(20, Duration::from_secs(6), 10, Duration::from_secs(60)),
            // 60 per IP, then one a second; 20 per member, then one every 3 s — faster than
            // anyone reads a reply.
            chat: PairLimit::new(60, Duration::from_secs(1), 20, Duration::from_secs(3)),
            // 30 per IP, then one every 10 s — room for a household or an office deciding
            // at once, a bound on what one address can store; 10 per browser, then one a
            // minute, far more than a person changes their mind.
            consent: PairLimit::new(30, Duration::from_secs(10), 10, Duration::from_secs(60)),
        }
    }
}

impl AuthRateLimits {
    pub fn forget_idle(&self) {
        for limit in [
            &self.sign_in,
            &self.sign_up,
            &self.mail_links,
            &self.payments,
            &self.chat,
            &self.consent,
        ] {
            limit.forget_idle();
        }
    }
}

/// A limit per client IP and a limit per account; an attempt must pass both.
#[derive(Clone)]
pub struct PairLimit {
    per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    per_account: Arc<DefaultKeyedRateLimiter<String>>,
}

impl PairLimit {
    pub fn new(ip_burst: u32, ip_refill: Duration, account_burst: u32, account_refill: Duration) -> Self {
        let quota = |burst: u32, refill: Duration| {
            Quota::with_period(refill)
                .expect("a non-zero refill period")
                .allow_burst(NonZeroU32::new(burst.max(1)).expect("non-zero burst"))
        };
        PairLimit {
            per_ip: Arc::new(RateLimiter::keyed(quota(ip_burst, ip_refill))),
            per_account: Arc::new(RateLimiter::keyed(quota(account_burst, account_refill))),
        }
    }

    /// Counts one attempt for both keys; `Err(seconds)` says how long to wait.
    pub fn check(&self, ip: &str, account: &str) -> Result<(), u64> {
        let clock = governor::clock::DefaultClock::default();
        let wait = |limited: governor::NotUntil<_>| whole_seconds(limited.wait_time_from(clock.now()));
        self.per_ip.check_key(&ip.to_owned()).map_err(wait)?;
        self.per_account.check_key(&account.to_owned()).map_err(wait)?;
        Ok(())
    }

    /// Forgets keys whose limits have fully recovered (called periodically).
    pub fn forget_idle(&self) {
        self.per_ip.retain_recent();
        self.per_account.retain_recent();
    }
}

/// A wait as the whole seconds `Retry-After` carries, rounded up: a caller who waits what
/// it says is let in (rounded down, one who obeyed it exactly came back too soon and was
/// refused again).
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(19_700)), 20);
        assert_eq!(whole_seconds(Duration::from_secs(20)), 20);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
    }

    #[test]
    fn a_burst_is_allowed_then_callers_wait() {
        let limits = PairLimit::new(3, Duration::from_secs(60), 100, Duration::from_secs(1));
        for _ in 0..3 {
            assert!(limits.check("1.2.3.4", "a@example.org").is_ok());
        }
        let wait = limits.check("1.2.3.4", "a@example.org").unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(
            limits.check("5.6.7.8", "a@example.org").is_ok(),
            "other IPs are not affected"
        );
    }

    #[test]
    fn accounts_are_limited_across_ips() {
        let limits = PairLimit::new(100, Duration::from_secs(1), 2, Duration::from_secs(60));
        assert!(limits.check("1.1.1.1", "victim@example.org").is_ok());
        assert!(limits.check("2.2.2.2", "victim@example.org").is_ok());
        assert!(limits.check("3.3.3.3", "victim@example.org").is_err());
    }
}
