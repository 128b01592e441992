//! The account page's avatar section: the current picture (or initials), a plain multipart form
//! to upload a new one and a form to remove it. Both are ordinary HTML posts to
//! `server/src/routes/avatar.rs`, so they work before hydration; the route redirects back to
//! `/account?avatar=updated|removed` or `/account?avatar_error=<code>`, and this section turns
//! the code into a message. Unknown codes get a generic line: the page never prints text taken
//! from the URL.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Shown for an `avatar_error` code this page does not know.
pub const UNKNOWN_AVATAR_ERROR: &str = "Your avatar could not be changed. Please try again.";

/// The message for an `avatar_error` code. The route's unit tests check that every code it
/// sends has here the same words its JSON answer carries.
pub fn avatar_error_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "missing" => "Choose an image file to upload.",
        "too_large" => "That file is larger than 5 MB. Choose a smaller image.",
        "unsupported" => "Only JPEG, PNG and WebP images can be used as an avatar.",
        "dimensions" => "That image is too large: at most 8000 × 8000 pixels and 40 megapixels.",
        "unreadable" => "That file could not be read as a JPEG, PNG or WebP image. It may be damaged.",
        "not_a_form" => "Send the image as multipart/form-data in a field named “avatar”.",
        "signed_out" => "Please sign in to continue.",
        "failed" => "Something went wrong on our side. Please try again in a moment.",
        _ => return None,
    })
}

/// Up to two initials from a display name, for members without an avatar.
pub fn initials(display_name: &str) -> String {
    let letters: String = display_name
        .split_whitespace()
        .filter_map(|word| word.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if letters.is_empty() {
        "?".to_owned()
    } else {
        letters
    }
}

#[component]
pub fn AvatarForm(
    /// `/media/…` URL of the current avatar, if the member has one.
    avatar_url: Option<String>,
    #[prop(into)] display_name: String,
) -> impl IntoView {
    let query = use_query_map();
    let error = Signal::derive(move || {
        query
            .read()
            .get("avatar_error")
            .map(|code| avatar_error_message(&code).unwrap_or(UNKNOWN_AVATAR_ERROR))
    });
    let notice = Signal::derive(move || match query.read().get("avatar").as_deref() {
        Some("updated") => Some("Your new avatar is saved."),
        Some("removed") => Some("Your avatar was removed. Your initials are shown instead."),
        _ => None,
    });
    let has_avatar = avatar_url.is_some();
    let picture = match avatar_url {
        Some(url) => view! {
            <img src=url alt="Your current avatar" width="96" height="96" data-testid="avatar-image"
                class="size-24 shrink-0 rounded-full border border-line object-cover"/>
        }
        .into_any(),
        None => view! {
            <span role="img" aria-label="No avatar yet: your initials are shown instead" data-testid="avatar-initials"
                class="inline-flex size-24 shrink-0 items-center justify-center rounded-full bg-accent/15 text-2xl font-semibold text-accent">
                {initials(&display_name)}
            </span>
        }
        .into_any(),
    };
    view! {
        <section class="card space-y-5" data-testid="avatar-form" aria-labelledby="avatar-heading">
            <div>
                <h2 id="avatar-heading" class="font-semibold text-ink">"Avatar"</h2>
                <p class="mt-1 text-sm text-muted">"The picture shown next to your name."</p>
            </div>
            {move || error.get().map(|message| view! { <p role="alert" class="form-alert" data-testid="avatar-error">{message}</p> })}
            {move || notice.get().map(|message| view! { <p role="status" class="form-notice" data-testid="avatar-notice">{message}</p> })}
            <div class="flex flex-wrap items-start gap-6">
                {picture}
                <div class="min-w-0 flex-1 space-y-4">
                    <form method="post" action="/account/avatar" enctype="multipart/form-data" class="space-y-3">
                        <div>
                            <label for="field-avatar" class="field-label">"New avatar"</label>
                            <input id="field-avatar" name="avatar" type="file" accept="image/jpeg,image/png,image/webp"
                                required=true class="field-input" aria-describedby="field-avatar-hint"
                                aria-invalid=move || error.get().is_some().to_string()/>
                            <p id="field-avatar-hint" class="field-hint">
                                "JPEG, PNG or WebP, up to 5 MB and 8000 × 8000 pixels. We crop it to a square, resize it to 256 × 256 pixels and remove camera and location details."
                            </p>
                        </div>
                        <button type="submit" class="btn-primary">"Upload avatar"</button>
                    </form>
                    {has_avatar.then(|| view! {
                        <form method="post" action="/account/avatar/remove">
                            <button type="submit" class="btn-secondary">"Remove avatar"</button>
                        </form>
                    })}
                </div>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::{avatar_error_message, initials};

    #[test]
    fn initials_come_from_the_first_two_words() {
        assert_eq!(initials("Grace Hopper"), "GH");
        assert_eq!(initials("ada"), "A");
        assert_eq!(initials("  Jean  Luc  Picard "), "JL");
        assert_eq!(initials("élodie (she/her)"), "ÉS");
        assert_eq!(initials("   "), "?");
    }

    #[test]
    fn only_known_codes_have_messages() {
        assert!(avatar_error_message("too_large").unwrap().contains("5 MB"));
        assert_eq!(avatar_error_message("Call +1 555 0100 to restore your account"), None);
    }
}
