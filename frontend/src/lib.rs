//! Browser entry point: hydrates the server-rendered page into the live app.

// Leptos views are nested generic types; rendering whole pages here instantiates them at
// a depth beyond the default limit of 128.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_lazy`: pages are split into chunks (see `app::routes`), and the router waits for
    // the current page's chunk before it hydrates that page.
    leptos::mount::hydrate_lazy(app::App);
}
