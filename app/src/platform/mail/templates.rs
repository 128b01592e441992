//! Every message the site sends, each rendered as plain text and as HTML from one
//! description, so the two bodies always say the same thing.

use super::OutgoingMail;
use html_escape::{encode_double_quoted_attribute, encode_text};

/// What a message says: a heading, paragraphs, an optional button, and a closing line.
struct Content {
    subject: String,
    heading: String,
    paragraphs: Vec<String>,
    action: Option<(String, String)>,
    closing: String,
}

fn render(site_name: &str, to: &str, content: Content) -> OutgoingMail {
    let mut text = format!("{}\n\n", content.heading);
    for paragraph in &content.paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
    }
    if let Some((label, url)) = &content.action {
        text.push_str(&format!("{label}:\n{url}\n\n"));
    }
    text.push_str(&content.closing);
    text.push_str(&format!("\n\n— {site_name}\n"));

    let paragraphs: String = content
        .paragraphs
        .iter()
        .map(|p| format!(r#"<p style="margin:0 0 16px;line-height:1.55">{}</p>"#, encode_text(p)))
        .collect();
    let action = content
        .action
        .as_ref()
        .map(|(label, url)| {
            format!(
                r#"<p style="margin:24px 0"><a href="{href}" style="display:inline-block;background:#1f2937;color:#ffffff;padding:12px 20px;border-radius:10px;text-decoration:none;font-weight:600">{label}</a></p><p style="margin:0 0 16px;font-size:13px;color:#6b7280;line-height:1.5">If the button does not work, copy this address into your browser:<br><span style="word-break:break-all">{url}</span></p>"#,
                href = encode_double_quoted_attribute(url),
                label = encode_text(label),
                url = encode_text(url),
            )
        })
        .unwrap_or_default();
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{subject}</title></head><body style="margin:0;background:#f6f5f2;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2937"><div style="max-width:520px;margin:0 auto;padding:32px 20px"><p style="margin:0 0 24px;font-weight:700;letter-spacing:-0.01em">{site}</p><div style="background:#ffffff;border:1px solid #e5e2dc;border-radius:16px;padding:28px"><h1 style="margin:0 0 16px;font-size:20px">{heading}</h1>{paragraphs}{action}<p style="margin:0;line-height:1.55;color:#6b7280">{closing}</p></div></div></body></html>"#,
        subject = encode_text(&content.subject),
        site = encode_text(site_name),
        heading = encode_text(&content.heading),
        closing = encode_text(&content.closing),
    );
    OutgoingMail {
        to: to.to_owned(),
        subject: content.subject,
        text,
        html,
    }
}

/// After sign-up: confirm the address.
pub fn verify_email(site_name: &str, to: &str, display_name: &str, link: &str) -> OutgoingMail {
    render(
        site_name,
        to,
        Content {
            subject: format!("Confirm your email for {site_name}"),
            heading: format!("Welcome, {display_name}"),
            paragraphs: vec![
                "Please confirm that this is your email address. Until you do, you can browse and save images, but publishing and paid features stay locked.".into(),
                "The link works once and expires in 24 hours.".into(),
            ],
            action: Some(("Confirm my email".into(), link.to_owned())),
            closing: "If you did not create an account, you can ignore this message; nothing more will be sent.".into(),
        },
    )
}

/// Forgotten password.
pub fn reset_password(site_name: &str, to: &str, link: &str) -> OutgoingMail {
    render(
        site_name,
        to,
        Content {
            subject: format!("Reset your {site_name} password"),
            heading: "Choose a new password".into(),
            paragraphs: vec![
                "Someone, hopefully you, asked to reset the password of the account with this email address.".into(),
                "The link works once and expires in 1 hour. Choosing a new password signs you out everywhere.".into(),
            ],
            action: Some(("Choose a new password".into(), link.to_owned())),
            closing: "If you did not ask for this, ignore this message: your password stays as it is.".into(),
        },
    )
}

/// A new address must be confirmed before it replaces the old one.
pub fn confirm_new_email(site_name: &str, to: &str, link: &str) -> OutgoingMail {
    render(
        site_name,
        to,
        Content {
            subject: format!("Confirm your new email for {site_name}"),
            heading: "Confirm your new email address".into(),
            paragraphs: vec![
                "Your account asked to use this address from now on. It takes effect when you confirm it.".into(),
                "The link works once and expires in 24 hours.".into(),
            ],
            action: Some(("Use this address".into(), link.to_owned())),
            closing: "If you did not ask for this, ignore this message and nothing changes.".into(),
        },
    )
}

/// Sent to the old address when a change of email is requested.
pub fn email_change_notice(site_name: &str, to: &str, new_email: &str) -> OutgoingMail {
    render(
        site_name,
        to,
        Content {
            subject: format!("Your {site_name} email is about to change"),
            heading: "A change of email address was requested".into(),
            paragraphs: vec![format!(
                "Your account asked to move from this address to {new_email}. The change happens only once the new address is confirmed."
            )],
            action: None,
            closing: "If this was not you, reset your password at once: someone may know it.".into(),
        },
    )
}

/// Sent after the password changed, by reset or from the account page.
pub fn password_changed(site_name: &str, to: &str) -> OutgoingMail {
    render(
        site_name,
        to,
        Content {
            subject: format!("Your {site_name} password was changed"),
            heading: "Your password was changed".into(),
            paragraphs: vec!["Every device that was signed in has been signed out.".into()],
            action: None,
            closing: "If this was not you, reset your password now and contact us.".into(),
        },
    )
}

/// A data export finished: where to download it, and until when.
pub fn export_ready(site_name: &str, to: &str, page_link: &str, expires_day: &str) -> OutgoingMail {
    render(
        site_name,
        to,
        Content {
            subject: format!("Your {site_name} data export is ready"),
            heading: "Your data export is ready".into(),
            paragraphs: vec![
                "The zip holds everything we store about you: one file per kind of data, a manifest that lists them, and your files.".into(),
                format!("Download it from the Your data page while you are signed in. It is deleted on {expires_day}; after that you can ask for a new one."),
            ],
            action: Some(("Open Your data".into(), page_link.to_owned())),
            closing: "If you did not ask for this export, change your password: someone may be signed in to your account.".into(),
        },
    )
}

/// A subscription payment failed: Stripe will try again, and the member can mend it.
pub fn payment_failed(site_name: &str, to: &str, billing_link: &str) -> OutgoingMail {
    render(
        site_name,
        to,
        Content {
            subject: format!("Your {site_name} payment did not go through"),
            heading: "Your payment did not go through".into(),
            paragraphs: vec![
                "We could not take this period's payment for your plan. Your plan stays on while the payment is tried again over the next days.".into(),
                "To keep it, check your card or choose another payment method: open your billing page and choose Manage billing.".into(),
            ],
            action: Some(("Open billing".into(), billing_link.to_owned())),
            closing: "If you meant to end your plan, you need do nothing: it ends when the retries run out.".into(),
        },
    )
}

/// The member asked to delete their account: when it happens and how to stop it.
pub fn deletion_scheduled(site_name: &str, to: &str, due_day: &str, sign_in_link: &str) -> OutgoingMail {
    render(
        site_name,
        to,
        Content {
            subject: format!("Your {site_name} account will be deleted on {due_day}"),
            heading: "Your account is scheduled for deletion".into(),
            paragraphs: vec![
                "Every device was signed out.".into(),
                format!("On {due_day} we delete your account and everything it holds, for good. Until then you can change your mind: sign in and cancel the deletion."),
            ],
            action: Some(("Sign in to cancel".into(), sign_in_link.to_owned())),
            closing: "If you did not ask for this, sign in, cancel the deletion and change your password.".into(),
        },
    )
}

/// A correction or appeal answered by staff: what they decided, in their words.
pub fn request_answered(site_name: &str, to: &str, what: &str, outcome: &str, link: &str) -> OutgoingMail {
    render(
        site_name,
        to,
        Content {
            subject: format!("Your {site_name} {what} has been answered"),
            heading: format!("Your {what} has been answered"),
            paragraphs: vec![outcome.to_owned()],
            action: Some(("See your requests".into(), link.to_owned())),
            closing: "If you disagree with a refusal, you can appeal it once from the same page.".into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bodies_carry_the_link_and_html_is_escaped() {
        let mail = verify_email(
            "Atelier",
            "ada@example.org",
            "Ada <b>",
            "https://a.example/verify?token=x&y=1",
        );
        assert!(mail.text.contains("https://a.example/verify?token=x&y=1"));
        assert!(mail.html.contains("href=\"https://a.example/verify?token=x&amp;y=1\""));
        assert!(mail.html.contains("Ada &lt;b&gt;"));
        assert!(!mail.html.contains("Ada <b>"));
        assert_eq!(mail.subject, "Confirm your email for Atelier");
    }
}
