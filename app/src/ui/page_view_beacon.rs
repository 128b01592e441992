//! Reports pages shown by client-side navigation, which never reach the server as a page
//! load, so every page view is counted once whichever way the page was reached.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// Where the browser reports them; the server keeps only the page's route pattern.
pub const PAGE_VIEW_BEACON: &str = "/usage/page-view";

/// Sends the new path with `navigator.sendBeacon` whenever it changes. Not on the first
/// run: the server already counted the page it rendered. A new query string on the same
/// page (another search, the next page of results) is not a new page view.
#[component]
pub fn PageViewBeacon() -> impl IntoView {
    let pathname = use_location().pathname;
    Effect::watch(
        move || pathname.get(),
        |path, _, _| {
            // A beacon that cannot be queued is a statistic lost, nothing the visitor needs to know.
            let _ = window()
                .navigator()
                .send_beacon_with_opt_str(PAGE_VIEW_BEACON, Some(path));
        },
        false,
    );
}
