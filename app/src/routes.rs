//! The table of contents: the HTML shell, and which page answers which path.

use crate::{
    features::{
        accounts::{
            auth_views::{
                ConfirmEmailChangePage, ForgotPasswordPage, ResetPasswordPage, SignInPage, SignUpPage, VerifyEmailPage,
            },
            oidc_views::ProviderSignUpPage,
            settings_views::AccountPage,
            views::{AccountMenu, SessionsPage},
        },
        admin::views::OutboxPage,
        library::{
            image_page::ImagePage,
            profile_views::{CategoryPage, ContributorPage},
            search_views::SearchPage,
            views::{ContributorsPage, HomePage, LibraryPage},
        },
        privacy::{
            analytics::Analytics,
            banner::{provide_consent, ConsentBanner, CookiesPage},
            data_views::MyDataPage,
            policy::{PrivacyPage, TermsPage},
        },
    },
    ui::{
        layout::{SiteFooter, SiteHeader, SkipLink},
        meta::site_name,
        status::NotFound,
    },
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="application-name" content=site_name()/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="min-h-screen bg-canvas font-sans text-ink antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_consent();
    let name = site_name();
    view! {
        <Title formatter=move |page: String| if page.is_empty() { name.clone() } else { format!("{page} — {name}") }/>
        <Router>
            <SkipLink/>
            <SiteHeader>
                <AccountMenu/>
            </SiteHeader>
            <main id="main" tabindex="-1" class="outline-none">
                // In-order streaming: the head and header flush at once, and each <Suspense/>
                // arrives in place when its data is ready — complete HTML without JavaScript
                // (out-of-order streaming would swap content in with a script).
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::InOrder/>
                    <Route path=path!("/photos") view=LibraryPage ssr=SsrMode::InOrder/>
                    // Async: the whole page waits for its data, so an unknown id answers 404.
                    <Route path=path!("/photos/:id") view=ImagePage ssr=SsrMode::Async/>
                    <Route path=path!("/search") view=SearchPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/contributors") view=ContributorsPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/contributors/:slug") view=ContributorPage ssr=SsrMode::Async/>
                    <Route path=path!("/categories/:slug") view=CategoryPage ssr=SsrMode::Async/>
                    <Route path=path!("/signin") view=SignInPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/signup") view=SignUpPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/signup/provider") view=ProviderSignUpPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/confirm-email") view=ConfirmEmailChangePage ssr=SsrMode::InOrder/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/account/sessions") view=SessionsPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/account/data") view=MyDataPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/admin/outbox") view=OutboxPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/cookies") view=CookiesPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/privacy") view=PrivacyPage ssr=SsrMode::InOrder/>
                    <Route path=path!("/terms") view=TermsPage ssr=SsrMode::InOrder/>
                </Routes>
            </main>
            <SiteFooter/>
            <ConsentBanner/>
            <Analytics/>
        </Router>
    }
}
