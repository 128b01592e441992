//! The pricing page (public), the billing page (`/account/billing`) and the pages Stripe's
//! Checkout returns to. Every button is a form that works before hydration; where this
//! instance takes no payments the buttons say so instead of pretending.

use super::{
    api::{
        confirm_checkout, load_billing, load_pricing, BillingView, BuyCredits, CheckoutOutcome, OpenBillingPortal,
        PricingView, StartCheckout, HISTORY_PAGE,
    },
    is_live,
    plans::{dollars, grouped, Interval, Plan, PACKS, PLANS},
    BillingState, LedgerEntry, PAYMENTS_OFF,
};
use crate::{
    dates::format_day,
    ui::{
        form::{action_error, FormAlert, SubmitButton},
        meta::PageMeta,
        status::{ErrorNotice, MembersOnly},
    },
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::hooks::use_query_map;

/// The notice where payments are off: the server functions' own sentence, and reassurance.
fn payments_off() -> String {
    format!("{PAYMENTS_OFF} Everything free stays free.")
}

#[component]
pub fn PricingPage() -> impl IntoView {
    let query = use_query_map();
    let interval = Memo::new(move |_| {
        query
            .read()
            .get("billing")
            .and_then(|code| Interval::parse(&code))
            .unwrap_or(Interval::Monthly)
    });
    let pricing = Resource::new(|| (), |_| load_pricing());
    view! {
        <PageMeta title="Pricing" description="Plans and credits for Atelier. The library stays free."/>
        <section class="mx-auto max-w-6xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-4xl font-semibold tracking-tight text-ink">"Pricing"</h1>
            <p class="mt-3 max-w-2xl text-lg text-muted">
                "Every image in the library is free to download and use. Plans add monthly credits, for chats with AI contributors beyond the free daily replies, and larger collections."
            </p>
            <nav aria-label="Billing period" class="mt-8 inline-flex rounded-full border border-line bg-surface p-1 text-sm">
                {[Interval::Monthly, Interval::Yearly].into_iter().map(|option| {
                    let label = if option == Interval::Monthly { "Monthly" } else { "Yearly — two months free" };
                    view! {
                        <a href=format!("/pricing?billing={}", option.code())
                            aria-current=move || (interval.get() == option).then_some("page")
                            class=move || if interval.get() == option { "sort-tab bg-accent text-accent-ink hover:text-accent-ink" } else { "sort-tab" }>
                            {label}
                        </a>
                    }
                }).collect_view()}
            </nav>
            <Transition fallback=|| view! { <p class="mt-8 text-muted" aria-busy="true">"Loading plans…"</p> }>
                {move || Suspend::new(async move {
                    match pricing.await {
                        Ok(view) => view! { <PlanCards view=view.clone() interval/> <Packs view/> }.into_any(),
                        Err(error) => view! { <ErrorNotice error retry_href="/pricing"/> }.into_any(),
                    }
                })}
            </Transition>
            <Comparison/>
            <Faq/>
        </section>
    }
}

#[component]
fn PlanCards(view: PricingView, interval: Memo<Interval>) -> impl IntoView {
    let action = ServerAction::<StartCheckout>::new();
    let error = action_error(action);
    let pending = action.pending();
    view! {
        {(!view.configured).then(|| view! { <p class="form-notice mt-8" data-testid="payments-off">{payments_off()}</p> })}
        <div class="mt-6"><FormAlert error/></div>
        <ul class="mt-6 grid list-none gap-6 p-0 md:grid-cols-3" data-testid="plans">
            {PLANS.iter().map(|facts| {
                let plan = facts.plan;
                let current = view.current == Some(plan);
                let price = move || match (plan, interval.get()) {
                    (Plan::Free, _) => ("$0".to_owned(), "forever"),
                    (_, Interval::Monthly) => (dollars(facts.monthly_cents), "a month"),
                    (_, Interval::Yearly) => (dollars(facts.yearly_cents), "a year"),
                };
                let on_paid_plan = view.current.is_some_and(|plan| plan != Plan::Free);
                let button = if current {
                    view! { <p class="btn-secondary w-full cursor-default" aria-disabled="true">"Your plan"</p> }.into_any()
                } else if plan == Plan::Free {
                    view! { <a href="/photos" class="btn-secondary w-full">"Browse the library"</a> }.into_any()
                } else if !view.configured {
                    view! { <button type="button" class="btn-primary w-full" disabled aria-describedby="payments-off-note">{format!("Choose {}", facts.name)}</button> }.into_any()
                } else if !view.signed_in {
                    view! { <a href="/signin?next=/pricing" class="btn-primary w-full">{format!("Sign in to choose {}", facts.name)}</a> }.into_any()
                } else if on_paid_plan {
                    view! { <a href="/account/billing" class="btn-secondary w-full">"Change plan in Manage billing"</a> }.into_any()
                } else {
                    let operation = view.operation.clone();
                    view! {
                        <ActionForm action>
                            <input type="hidden" name="plan" value=plan.code()/>
                            <input type="hidden" name="interval" value=move || interval.get().code()/>
                            <input type="hidden" name="operation" value=operation/>
                            <SubmitButton label=format!("Choose {}", facts.name) busy_label="Opening checkout…" pending/>
                        </ActionForm>
                    }.into_any()
                };
                view! {
                    <li class={if plan == Plan::Pro { "card flex flex-col ring-2 ring-accent" } else { "card flex flex-col" }}
                        data-plan=plan.code()>
                        <div class="flex items-center justify-between gap-2">
                            <h2 class="font-display text-2xl font-semibold text-ink">{facts.name}</h2>
                            {current.then(|| view! { <span class="rounded-full bg-accent/15 px-3 py-1 text-xs font-semibold text-accent">"Current"</span> })}
                        </div>
                        <p class="mt-2 text-sm text-muted">{facts.tagline}</p>
                        <p class="mt-6">
                            <span class="font-display text-4xl font-semibold text-ink">{move || price().0}</span>
                            " "<span class="text-muted">{move || price().1}</span>
                        </p>
                        <ul class="mt-6 grow space-y-2 text-sm text-ink">
                            <li>{if facts.monthly_credits == 0 { "No monthly credits; buy packs when you need them".to_owned() } else { format!("{} credits a month", grouped(facts.monthly_credits)) }}</li>
                            <li>{if facts.collection_factor == 1 { "Collections at the standard limits".to_owned() } else { format!("{}× the collections and images per collection", facts.collection_factor) }}</li>
                        </ul>
                        <div class="mt-8">{button}</div>
                    </li>
                }
            }).collect_view()}
        </ul>
        {(!view.configured).then(|| view! { <p id="payments-off-note" class="sr-only">{payments_off()}</p> })}
    }
}

#[component]
fn Packs(view: PricingView) -> impl IntoView {
    let action = ServerAction::<BuyCredits>::new();
    let error = action_error(action);
    let pending = action.pending();
    view! {
        <section id="credits" class="mt-16" aria-labelledby="credits-heading">
            <h2 id="credits-heading" class="font-display text-2xl font-semibold text-ink">"Credit packs"</h2>
            <p class="mt-2 max-w-2xl text-muted">"Credits bought once, on any plan. They never expire."</p>
            <div class="mt-4"><FormAlert error/></div>
            <ul class="mt-4 grid list-none gap-4 p-0 sm:grid-cols-2">
                {PACKS.iter().map(|pack| {
                    let on_sale = view.packs.iter().any(|code| code == pack.code);
                    let button = if !view.configured {
                        view! { <button type="button" class="btn-secondary" disabled>"Buy"</button> }.into_any()
                    } else if !on_sale {
                        view! { <p class="text-sm text-muted">"Not sold on this instance"</p> }.into_any()
                    } else if !view.signed_in {
                        view! { <a href="/signin?next=/pricing%23credits" class="btn-secondary">"Sign in to buy"</a> }.into_any()
                    } else {
                        let operation = view.operation.clone();
                        view! {
                            <ActionForm action>
                                <input type="hidden" name="pack" value=pack.code/>
                                <input type="hidden" name="operation" value=operation/>
                                <SubmitButton label=format!("Buy for {}", dollars(pack.cents)) busy_label="Opening checkout…" pending class="btn-secondary"/>
                            </ActionForm>
                        }.into_any()
                    };
                    view! {
                        <li class="card flex items-center justify-between gap-4" data-pack=pack.code>
                            <div>
                                <p class="font-semibold text-ink">{format!("{} credits", grouped(pack.credits))}</p>
                                <p class="text-sm text-muted">{dollars(pack.cents)}</p>
                            </div>
                            {button}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn Comparison() -> impl IntoView {
    let row = |label: &'static str, value: fn(&super::plans::PlanFacts) -> String| {
        view! {
            <tr class="border-t border-line">
                <th scope="row" class="py-3 pr-4 text-left font-medium text-ink">{label}</th>
                {PLANS.iter().map(|facts| view! { <td class="px-4 py-3 text-muted">{value(facts)}</td> }).collect_view()}
            </tr>
        }
    };
    view! {
        <section class="mt-16" aria-labelledby="compare-heading">
            <h2 id="compare-heading" class="font-display text-2xl font-semibold text-ink">"Compare plans"</h2>
            <div class="mt-4 overflow-x-auto">
                <table class="w-full min-w-[32rem] text-sm">
                    <thead>
                        <tr>
                            <td></td>
                            {PLANS.iter().map(|facts| view! { <th scope="col" class="px-4 py-3 text-left font-semibold text-ink">{facts.name}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {row("Monthly price", |facts| dollars(facts.monthly_cents))}
                        {row("Yearly price", |facts| dollars(facts.yearly_cents))}
                        {row("Credits each month", |facts| grouped(facts.monthly_credits))}
                        {row("Collection limits", |facts| format!("{}×", facts.collection_factor))}
                        {row("Free chat replies a day", |facts| format!("{}×", facts.chat_factor))}
                        {row("Library downloads", |_| "Unlimited, free".to_owned())}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn Faq() -> impl IntoView {
    let items: [(&str, &str); 6] = [
        ("What are credits?", "What a chat reply costs once the day's free replies are used: one credit a reply. Browsing and downloading the library never costs anything."),
        ("Do credits expire?", "No. Credits from your plan and from packs stay until you use them, also after you cancel."),
        ("What happens when I change plans?", "Upgrading takes effect at once: Stripe charges the difference for the rest of the period, and once it is paid we top your credits up to the new plan's amount for it. Downgrading takes effect at your next renewal; credits you already have stay."),
        ("How do I cancel?", "Open Manage billing on your billing page. Your plan runs to the end of the period you paid for, then you are on Free."),
        ("Where is my card kept?", "With Stripe, who takes the payment. Atelier stores only your Stripe customer and subscription ids and your plan's state — never a card number or an address."),
        ("Can I get a refund?", "Write to us. If a credit pack is refunded, the credits it added are taken back, as many as are left."),
    ];
    view! {
        <section class="mt-16 max-w-3xl" aria-labelledby="faq-heading">
            <h2 id="faq-heading" class="font-display text-2xl font-semibold text-ink">"Questions"</h2>
            <div class="mt-4 divide-y divide-line border-y border-line">
                {items.into_iter().map(|(question, answer)| view! {
                    <details class="group py-4">
                        <summary class="cursor-pointer font-medium text-ink">{question}</summary>
                        <p class="mt-2 text-sm text-muted">{answer}</p>
                    </details>
                }).collect_view()}
            </div>
        </section>
    }
}

#[component]
pub fn BillingPage() -> impl IntoView {
    let query = use_query_map();
    let page = Memo::new(move |_| {
        query
            .read()
            .get("page")
            .and_then(|page| page.parse::<u32>().ok())
            .unwrap_or(1)
    });
    let billing = Resource::new(move || page.get(), load_billing);
    view! {
        <PageMeta title="Billing" description="Your plan, your credits and their history."/>
        <section class="mx-auto max-w-4xl px-4 py-12 sm:px-6">
            <nav aria-label="Breadcrumb" class="text-sm text-muted">
                <a href="/account" class="hover:text-ink hover:underline">"Your account"</a>
                " / "
            </nav>
            <h1 class="mt-2 font-display text-3xl font-semibold tracking-tight text-ink">"Billing"</h1>
            <MembersOnly data=billing loading="Loading your billing…" sign_in="Sign in to see your plan and credits"
                path="/account/billing" loaded=|view: BillingView| view! {
                    <PlanSummary view=view.clone()/>
                    <Credits view/>
                }/>
        </section>
    }
}

/// The state line under the plan's name.
fn status_line(state: &BillingState) -> Option<String> {
    let status = state.status.as_deref()?;
    let day = state.current_period_end.map(format_day);
    Some(match (status, day) {
        ("past_due", _) => "Your last payment did not go through. Stripe will try again; update your payment method in Manage billing to keep your plan.".to_owned(),
        (status, Some(day)) if is_live(status) && state.cancel_at_period_end => format!("Cancelled: your plan ends on {day}, then you are on Free."),
        (status, Some(day)) if is_live(status) => format!("Renews on {day}."),
        ("canceled", _) => "Your subscription has ended.".to_owned(),
        ("incomplete" | "incomplete_expired", _) => "The first payment was not completed.".to_owned(),
        ("unpaid", _) => "Payments failed and the plan is suspended. Update your payment method in Manage billing.".to_owned(),
        (other, _) => format!("Status: {other}."),
    })
}

#[component]
fn PlanSummary(view: BillingView) -> impl IntoView {
    let action = ServerAction::<OpenBillingPortal>::new();
    let error = action_error(action);
    let pending = action.pending();
    let interval = view.state.as_ref().and_then(|state| state.interval);
    let line = view.state.as_ref().and_then(status_line);
    let plan_name = match (view.effective, interval) {
        (Plan::Free, _) => "Free".to_owned(),
        (plan, Some(Interval::Yearly)) => format!("{}, yearly", plan.name()),
        (plan, _) => format!("{}, monthly", plan.name()),
    };
    view! {
        <section class="card mt-8" aria-labelledby="plan-heading" data-testid="plan">
            <FormAlert error/>
            <div class="flex flex-wrap items-start justify-between gap-4">
                <div>
                    <h2 id="plan-heading" class="text-sm font-medium text-muted">"Plan"</h2>
                    <p class="mt-1 font-display text-2xl font-semibold text-ink" data-testid="plan-name">{plan_name}</p>
                    {line.map(|line| view! { <p class="mt-1 text-sm text-muted" data-testid="plan-status">{line}</p> })}
                </div>
                <div class="flex flex-wrap gap-3">
                    {(view.configured && view.has_customer).then(|| view! {
                        <ActionForm action>
                            <input type="hidden" name="operation" value=view.operation.clone()/>
                            <SubmitButton label="Manage billing" busy_label="Opening Stripe…" pending class="btn-primary"/>
                        </ActionForm>
                    })}
                    <a href="/pricing" class="btn-secondary">{if view.effective == Plan::Free { "See plans" } else { "Compare plans" }}</a>
                </div>
            </div>
            {(view.configured && view.has_customer).then(|| view! {
                <p class="mt-4 text-sm text-muted">"Manage billing opens Stripe, where you change plan, update your card, see invoices or cancel."</p>
            })}
            {(!view.configured).then(|| view! { <p class="form-notice mt-4">{payments_off()}</p> })}
        </section>
    }
}

#[component]
fn Credits(view: BillingView) -> impl IntoView {
    let BillingView {
        balance,
        entries,
        page,
        has_more,
        ..
    } = view;
    view! {
        <section class="card mt-6" aria-labelledby="credits-heading">
            <div class="flex flex-wrap items-end justify-between gap-4">
                <div>
                    <h2 id="credits-heading" class="text-sm font-medium text-muted">"Credits"</h2>
                    <p class="mt-1 font-display text-4xl font-semibold text-ink" data-testid="balance">{grouped(balance)}</p>
                </div>
                <a href="/pricing#credits" class="btn-secondary">"Buy credits"</a>
            </div>
            <h3 class="mt-8 font-semibold text-ink">"History"</h3>
            {if entries.is_empty() && page == 1 {
                view! { <p class="mt-2 text-sm text-muted" data-testid="history-empty">"No credit activity yet. Credits from your plan and from packs, and what you spend them on, will be listed here."</p> }.into_any()
            } else {
                view! { <History entries/> }.into_any()
            }}
            <nav aria-label="History pages" class="mt-4 flex justify-between text-sm">
                {(page > 1).then(|| view! { <a href=format!("/account/billing?page={}", page - 1) class="nav-link">"← Newer"</a> })}
                <span></span>
                {has_more.then(|| view! { <a href=format!("/account/billing?page={}", page + 1) class="nav-link">"Older →"</a> })}
            </nav>
            <p class="sr-only">{format!("Page {page}, {HISTORY_PAGE} entries a page.")}</p>
        </section>
    }
}

#[component]
fn History(entries: Vec<LedgerEntry>) -> impl IntoView {
    view! {
        <div class="mt-2 overflow-x-auto">
            <table class="w-full min-w-[36rem] text-sm" data-testid="history">
                <thead class="text-left text-muted">
                    <tr>
                        <th scope="col" class="py-2 pr-4 font-medium">"Date"</th>
                        <th scope="col" class="py-2 pr-4 font-medium">"What"</th>
                        <th scope="col" class="py-2 pr-4 font-medium">"For"</th>
                        <th scope="col" class="py-2 pr-4 text-right font-medium">"Change"</th>
                        <th scope="col" class="py-2 text-right font-medium">"Balance"</th>
                    </tr>
                </thead>
                <tbody>
                    {entries.into_iter().map(|entry| view! {
                        <tr class="border-t border-line" data-reason=entry.reason.code()>
                            <td class="py-2 pr-4 whitespace-nowrap text-muted">{format_day(entry.created_at)}</td>
                            <td class="py-2 pr-4 text-ink">{entry.reason.label()}</td>
                            <td class="py-2 pr-4 text-muted break-all">{entry.reference}</td>
                            <td class={if entry.amount > 0 { "py-2 pr-4 text-right font-medium text-accent" } else { "py-2 pr-4 text-right font-medium text-ink" }}>
                                {if entry.amount > 0 { format!("+{}", grouped(entry.amount)) } else { grouped(entry.amount) }}
                            </td>
                            <td class="py-2 text-right text-muted">{grouped(entry.balance_after)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Where Checkout sends the member back after paying.
#[component]
pub fn CheckoutSuccessPage() -> impl IntoView {
    let query = use_query_map();
    let session = move || query.read().get("session_id").unwrap_or_default();
    let outcome = Resource::new(session, confirm_checkout);
    view! {
        <PageMeta title="Thank you" description="Your payment with Stripe."/>
        <section class="mx-auto max-w-xl px-4 py-16 text-center sm:px-6">
            <MembersOnly data=outcome loading="Confirming your payment with Stripe…" sign_in="Sign in to see your new plan"
                path="/account/billing" loaded=|outcome: CheckoutOutcome| {
                    let (heading, body) = match outcome {
                        CheckoutOutcome::Subscribed { plan, balance } => (
                            format!("You are on {} now", plan.name()),
                            format!("Thank you. Your plan is active and your balance is {} credits.", grouped(balance)),
                        ),
                        CheckoutOutcome::Credits { credits } => (
                            "Your credits are in".to_owned(),
                            format!("Thank you. {} credits were added to your balance.", grouped(credits)),
                        ),
                        CheckoutOutcome::Pending => (
                            "Your payment is on its way".to_owned(),
                            "Stripe has not confirmed the payment yet. Your plan or credits appear on your billing page as soon as it does; there is nothing more to do.".to_owned(),
                        ),
                    };
                    view! {
                        <div class="card" data-testid="checkout-outcome">
                            <h1 class="font-display text-3xl font-semibold text-ink">{heading}</h1>
                            <p class="mt-3 text-muted">{body}</p>
                            <a href="/account/billing" class="btn-primary mt-6 inline-flex">"Go to billing"</a>
                        </div>
                    }
                }/>
        </section>
    }
}

/// Where Checkout sends the member back when they leave it without paying.
#[component]
pub fn CheckoutCancelledPage() -> impl IntoView {
    view! {
        <PageMeta title="Checkout cancelled" description="Nothing was charged."/>
        <section class="mx-auto max-w-xl px-4 py-16 sm:px-6">
            <div class="card text-center">
                <h1 class="font-display text-3xl font-semibold text-ink">"Checkout cancelled"</h1>
                <p class="mt-3 text-muted">"Nothing was charged. You can choose a plan or a pack whenever you like."</p>
                <a href="/pricing" class="btn-primary mt-6 inline-flex">"Back to pricing"</a>
            </div>
        </section>
    }
}
