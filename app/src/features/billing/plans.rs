//! The plan catalogue: Free, Pro and Studio, what each gives, and the credit packs sold
//! once. Prices here are what the pricing page shows; the Stripe prices they are charged
//! through come from configuration (`ATELIER_STRIPE_PRICE_*`) and must match them.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Plan {
    Free,
    Pro,
    Studio,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Interval {
    Monthly,
    Yearly,
}

/// What a plan gives. Amounts are in US cents.
pub struct PlanFacts {
    pub plan: Plan,
    pub name: &'static str,
    pub tagline: &'static str,
    /// Credits granted for each month paid (a yearly payment grants twelve months' worth).
    pub monthly_credits: i64,
    pub monthly_cents: u32,
    pub yearly_cents: u32,
    /// Collection limits are the configured (Free) limits times this.
    pub collection_factor: u32,
    /// Free chat replies a day are the configured (Free) allowance times this.
    pub chat_factor: u32,
}

pub static PLANS: [PlanFacts; 3] = [
    PlanFacts {
        plan: Plan::Free,
        name: "Free",
        tagline: "Browse, download and collect the whole library.",
        monthly_credits: 0,
        monthly_cents: 0,
        yearly_cents: 0,
        collection_factor: 1,
        chat_factor: 1,
    },
    PlanFacts {
        plan: Plan::Pro,
        name: "Pro",
        tagline: "For members who collect and chat every week.",
        monthly_credits: 1_000,
        monthly_cents: 1_200,
        yearly_cents: 12_000,
        collection_factor: 5,
        chat_factor: 5,
    },
    PlanFacts {
        plan: Plan::Studio,
        name: "Studio",
        tagline: "For teams that collect and chat at volume.",
        monthly_credits: 5_000,
        monthly_cents: 3_900,
        yearly_cents: 39_000,
        collection_factor: 20,
        chat_factor: 20,
    },
];

impl Plan {
    pub const PAID: [Plan; 2] = [Plan::Pro, Plan::Studio];

    pub fn facts(self) -> &'static PlanFacts {
        match self {
            Plan::Free => &PLANS[0],
            Plan::Pro => &PLANS[1],
            Plan::Studio => &PLANS[2],
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Studio => "studio",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Plan::Free, Plan::Pro, Plan::Studio]
            .into_iter()
            .find(|plan| plan.code() == code)
    }

    pub fn name(self) -> &'static str {
        self.facts().name
    }

    /// The credits one paid period grants.
    pub fn period_credits(self, interval: Interval) -> i64 {
        match interval {
            Interval::Monthly => self.facts().monthly_credits,
            Interval::Yearly => self.facts().monthly_credits * 12,
        }
    }
}

impl Interval {
    pub fn code(self) -> &'static str {
        match self {
            Interval::Monthly => "monthly",
            Interval::Yearly => "yearly",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Interval::Monthly, Interval::Yearly]
            .into_iter()
            .find(|interval| interval.code() == code)
    }
}

/// A pack of credits bought once.
pub struct Pack {
    pub code: &'static str,
    pub credits: i64,
    pub cents: u32,
}

pub static PACKS: [Pack; 2] = [
    Pack {
        code: "credits_500",
        credits: 500,
        cents: 600,
    },
    Pack {
        code: "credits_2000",
        credits: 2_000,
        cents: 2_000,
    },
];

pub fn pack(code: &str) -> Option<&'static Pack> {
    PACKS.iter().find(|pack| pack.code == code)
}

/// `$12` or `$12.50`.
pub fn dollars(cents: u32) -> String {
    if cents.is_multiple_of(100) {
        format!("${}", cents / 100)
    } else {
        format!("${}.{:02}", cents / 100, cents % 100)
    }
}

/// `12,000`: credits as people read them.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('−');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for plan in [Plan::Free, Plan::Pro, Plan::Studio] {
            assert_eq!(Plan::parse(plan.code()), Some(plan));
            assert_eq!(plan.facts().plan, plan);
        }
        assert_eq!(Interval::parse("yearly"), Some(Interval::Yearly));
        assert_eq!(Plan::parse("gold"), None);
    }

    #[test]
    fn a_yearly_period_grants_twelve_months() {
        assert_eq!(Plan::Pro.period_credits(Interval::Monthly), 1_000);
        assert_eq!(Plan::Pro.period_credits(Interval::Yearly), 12_000);
        assert_eq!(Plan::Free.period_credits(Interval::Yearly), 0);
    }

    #[test]
    fn credits_are_grouped_in_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(12_000), "12,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(-2_500), "−2,500");
    }

    #[test]
    fn prices_read_as_dollars() {
        assert_eq!(dollars(1_200), "$12");
        assert_eq!(dollars(1_250), "$12.50");
        assert_eq!(dollars(5), "$0.05");
    }
}
