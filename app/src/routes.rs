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
        admin::{jobs_view::JobsQueuePage, requests_view::RequestsQueuePage, views::OutboxPage},
        billing::views::{BillingPage, CheckoutCancelledPage, CheckoutSuccessPage, PricingPage},
        chat::views::{ChatListPage, ConversationPage},
        collections::{
            save_views::provide_saved_marks,
            views::{CollectionPage, CollectionsPage},
        },
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
            settings_views::PrivacySettingsPage,
        },
    },
    ui::{
        layout::{SiteFooter, SiteHeader, SkipLink},
        meta::site_name,
        page_view_beacon::PageViewBeacon,
        status::NotFound,
    },
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute, SsrMode,
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

/// Declares, for each page, a route whose view is split out of the initial wasm: the
/// browser fetches a page's code when the page is first shown (`cargo leptos build
/// --split`), so the first download holds only the shell and the framework. The server
/// renders every page in full either way, and the page that is served first is preloaded
/// by `<HydrationScripts/>`. Data is loaded inside the pages (their resources hydrate
/// from the server's answer), so `data()` has nothing to start.
macro_rules! lazy_pages {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_route: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_pages! {
    HomeRoute => HomePage,
    LibraryRoute => LibraryPage,
    ImageRoute => ImagePage,
    SearchRoute => SearchPage,
    ContributorsRoute => ContributorsPage,
    ContributorRoute => ContributorPage,
    CategoryRoute => CategoryPage,
    SignInRoute => SignInPage,
    SignUpRoute => SignUpPage,
    ProviderSignUpRoute => ProviderSignUpPage,
    ForgotPasswordRoute => ForgotPasswordPage,
    ResetPasswordRoute => ResetPasswordPage,
    VerifyEmailRoute => VerifyEmailPage,
    ConfirmEmailChangeRoute => ConfirmEmailChangePage,
    AccountRoute => AccountPage,
    SessionsRoute => SessionsPage,
    MyDataRoute => MyDataPage,
    PrivacySettingsRoute => PrivacySettingsPage,
    OutboxRoute => OutboxPage,
    RequestsQueueRoute => RequestsQueuePage,
    JobsQueueRoute => JobsQueuePage,
    CookiesRoute => CookiesPage,
    PrivacyRoute => PrivacyPage,
    TermsRoute => TermsPage,
    CollectionsRoute => CollectionsPage,
    CollectionRoute => CollectionPage,
    PricingRoute => PricingPage,
    BillingRoute => BillingPage,
    CheckoutSuccessRoute => CheckoutSuccessPage,
    CheckoutCancelledRoute => CheckoutCancelledPage,
    ChatListRoute => ChatListPage,
    ConversationRoute => ConversationPage,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_consent();
    provide_saved_marks();
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
                    <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/photos") view={Lazy::<LibraryRoute>::new()} ssr=SsrMode::InOrder/>
                    // Async: the whole page waits for its data, so an unknown id answers 404.
                    <Route path=path!("/photos/:id") view={Lazy::<ImageRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/search") view={Lazy::<SearchRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/contributors") view={Lazy::<ContributorsRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/contributors/:slug") view={Lazy::<ContributorRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/categories/:slug") view={Lazy::<CategoryRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/signin") view={Lazy::<SignInRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/signup") view={Lazy::<SignUpRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/signup/provider") view={Lazy::<ProviderSignUpRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/reset-password") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/verify-email") view={Lazy::<VerifyEmailRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/confirm-email") view={Lazy::<ConfirmEmailChangeRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/account/sessions") view={Lazy::<SessionsRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/account/data") view={Lazy::<MyDataRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/account/privacy") view={Lazy::<PrivacySettingsRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/admin/outbox") view={Lazy::<OutboxRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/admin/requests") view={Lazy::<RequestsQueueRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/admin/jobs") view={Lazy::<JobsQueueRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/cookies") view={Lazy::<CookiesRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/privacy") view={Lazy::<PrivacyRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/collections") view={Lazy::<CollectionsRoute>::new()} ssr=SsrMode::InOrder/>
                    // Async: a private or unknown collection answers 404.
                    <Route path=path!("/collections/:slug") view={Lazy::<CollectionRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/terms") view={Lazy::<TermsRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/pricing") view={Lazy::<PricingRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/account/billing") view={Lazy::<BillingRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/billing/success") view={Lazy::<CheckoutSuccessRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/billing/cancelled") view={Lazy::<CheckoutCancelledRoute>::new()} ssr=SsrMode::InOrder/>
                    <Route path=path!("/chat") view={Lazy::<ChatListRoute>::new()} ssr=SsrMode::InOrder/>
                    // Async: an unknown conversation answers 404.
                    <Route path=path!("/chat/:id") view={Lazy::<ConversationRoute>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
            <SiteFooter/>
            <ConsentBanner/>
            <Analytics/>
            <PageViewBeacon/>
        </Router>
    }
}
