//! The data inventory: every category of personal data Atelier holds, where it lives, why,
//! on what legal basis, for how long, and what export and deletion do with it. The privacy
//! policy page, docs/DATA.md and the schema-coverage test all read this one list.

/// One kind of personal data.
pub struct DataCategory {
    /// A short name, as the policy's headings use it.
    pub name: &'static str,
    /// What exactly is held, in a reader's words.
    pub data: &'static str,
    /// The tables and columns that hold it.
    pub stores: &'static [Store],
    /// Files in media storage that belong to it, if any.
    pub files: Option<Files>,
    pub purpose: &'static str,
    pub basis: LegalBasis,
    pub retention: &'static str,
    pub export: Export,
    pub deletion: Deletion,
}

/// Where a category lives in the database.
pub struct Store {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    /// How a row is tied to a member: what export and deletion look the member up by.
    pub member: MemberLink,
}

/// Files in media storage, found through the column that holds their keys.
pub struct Files {
    /// What they are and where, in a reader's words.
    pub description: &'static str,
    pub table: &'static str,
    pub key_column: &'static str,
    /// Whether the export carries the files themselves (under `media/`).
    pub exported: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberLink {
    /// This column holds `users.id` (for `users` itself, `id`).
    Column(&'static str),
    /// This column holds the member's email address.
    Address(&'static str),
    /// Not tied to a member (before sign-up, or only a one-way hash).
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegalBasis {
    Contract,
    LegitimateInterest,
    LegalObligation,
    Consent,
}

impl LegalBasis {
    pub fn label(self) -> &'static str {
        match self {
            Self::Contract => "contract (providing the service you asked for)",
            Self::LegitimateInterest => "legitimate interest",
            Self::LegalObligation => "legal obligation",
            Self::Consent => "consent",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    /// Every listed column goes into the member's export.
    Yes,
    /// Exported without `columns`, which `what` names in a reader's words.
    Without {
        columns: &'static [&'static str],
        what: &'static str,
    },
    /// Not exported, for the reason given.
    No(&'static str),
}

impl Export {
    pub fn describe(self) -> String {
        match self {
            Self::Yes => "yes".to_owned(),
            Self::Without { what, .. } => format!("yes, without {what}"),
            Self::No(reason) => format!("no: {reason}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// The rows (and files) go, with how.
    Delete(&'static str),
    /// The rows stay without anything that points at the member: the member column and
    /// `clear` (text the member wrote) become NULL.
    Anonymise {
        how: &'static str,
        clear: &'static [&'static str],
    },
    /// Removed on a schedule of their own, whatever the member does.
    Purge(&'static str),
    /// Never tied to a member, so there is nothing of theirs to delete.
    NotLinked(&'static str),
}

impl Deletion {
    pub fn describe(self) -> String {
        match self {
            Self::Delete(how) => format!("deleted: {how}"),
            Self::Anonymise { how, .. } => format!("anonymised: {how}"),
            Self::Purge(how) => format!("purged: {how}"),
            Self::NotLinked(why) => format!("nothing to delete: {why}"),
        }
    }
}

/// Tables that hold no personal data, and why.
pub struct Unlinked {
    pub tables: &'static [&'static str],
    pub why: &'static str,
}

pub const CATEGORIES: &[DataCategory] = &[
    DataCategory {
        name: "Account identity",
        data: "email address (lower-cased) and display name",
        stores: &[Store {
            table: "users",
            columns: &["email", "display_name"],
            member: MemberLink::Column("id"),
        }],
        files: None,
        purpose: "signing in, contacting the member",
        basis: LegalBasis::Contract,
        retention: "until the account is deleted",
        export: Export::Yes,
        deletion: Deletion::Delete("the account row is removed"),
    },
    DataCategory {
        name: "Password",
        data: "an argon2id hash of the password (never the password itself)",
        stores: &[Store {
            table: "users",
            columns: &["password_hash"],
            member: MemberLink::Column("id"),
        }],
        files: None,
        purpose: "signing in",
        basis: LegalBasis::Contract,
        retention: "until the account is deleted",
        export: Export::No("a hash is not the member's data to take away"),
        deletion: Deletion::Delete("the account row is removed"),
    },
    DataCategory {
        name: "Role and account history",
        data: "role (member, moderator, administrator), when the email was verified, when the account was created and last changed",
        stores: &[Store {
            table: "users",
            columns: &["role", "email_verified_at", "created_at", "updated_at"],
            member: MemberLink::Column("id"),
        }],
        files: None,
        purpose: "deciding what the member may do; account history",
        basis: LegalBasis::LegitimateInterest,
        retention: "until the account is deleted",
        export: Export::Yes,
        deletion: Deletion::Delete("the account row is removed"),
    },
    DataCategory {
        name: "Profile",
        data: "bio and preferred download size",
        stores: &[Store {
            table: "users",
            columns: &["bio", "download_size"],
            member: MemberLink::Column("id"),
        }],
        files: None,
        purpose: "shown on the member's public pages; the default download size",
        basis: LegalBasis::Contract,
        retention: "until the account is deleted",
        export: Export::Yes,
        deletion: Deletion::Delete("the account row is removed"),
    },
    DataCategory {
        name: "Avatar",
        data: "a 256 × 256 WebP re-encoded from the uploaded picture's pixels (no EXIF, GPS or colour-profile data survives)",
        stores: &[Store {
            table: "users",
            columns: &["avatar_key"],
            member: MemberLink::Column("id"),
        }],
        files: Some(Files {
            description: "the avatar image in media storage (`ATELIER_MEDIA_DIR` or the S3 bucket)",
            table: "users",
            key_column: "avatar_key",
            exported: true,
        }),
        purpose: "shown next to the member's name",
        basis: LegalBasis::Contract,
        retention: "until replaced, removed or the account is deleted",
        export: Export::Yes,
        deletion: Deletion::Delete("the key is cleared and the file removed, unless another account or image uses the same content"),
    },
    DataCategory {
        name: "Account links",
        data: "what an emailed link is for, the address it confirms, when it was made, when it expires and when it was used",
        stores: &[Store {
            table: "account_tokens",
            columns: &["purpose", "email", "created_at", "expires_at", "used_at", "token_hash"],
            member: MemberLink::Column("user_id"),
        }],
        files: None,
        purpose: "email verification, password reset, change of email",
        basis: LegalBasis::Contract,
        retention: "until used or expired, then purged within a day",
        export: Export::Without {
            columns: &["token_hash"],
            what: "the link's SHA-256 hash",
        },
        deletion: Deletion::Delete("with the account (foreign-key cascade)"),
    },
    DataCategory {
        name: "Mail in the local outbox",
        data: "recipient, subject, and the text and HTML bodies (which contain one-time links)",
        stores: &[Store {
            table: "mail_outbox",
            columns: &["to_address", "subject", "text_body", "html_body", "created_at"],
            member: MemberLink::Address("to_address"),
        }],
        files: None,
        purpose: "the embedded mail transport, read by operators at /admin/outbox; with an SMTP or HTTP provider it stays empty",
        basis: LegalBasis::Contract,
        retention: "7 days, purged every minute",
        export: Export::Yes,
        deletion: Deletion::Delete("every mail to the account's addresses, a new one it was changing to included"),
    },
    DataCategory {
        name: "Mail waiting to be sent",
        data: "a queued mail's recipient and bodies, inside a background job",
        stores: &[Store {
            table: "jobs",
            columns: &["payload", "last_error"],
            member: MemberLink::None,
        }],
        files: None,
        purpose: "delivering mail with retries when the mail service is slow or down",
        basis: LegalBasis::Contract,
        retention: "until delivered: the payload is emptied at once and the row removed after 7 days; a job that failed for good keeps its payload and error (which may quote the address) for an operator's retry, for 30 days",
        export: Export::No("it is in flight for minutes and not filed under the member"),
        deletion: Deletion::Purge("emptied on delivery; the links inside expire within a day"),
    },
    DataCategory {
        name: "Single sign-on identities",
        data: "the provider (issuer), the provider's id for the member, the verified email when linked, when linked",
        stores: &[Store {
            table: "oidc_identities",
            columns: &["issuer", "subject", "email", "created_at"],
            member: MemberLink::Column("user_id"),
        }],
        files: None,
        purpose: "signing in through the configured OpenID Connect provider",
        basis: LegalBasis::Contract,
        retention: "until the account is deleted",
        export: Export::Yes,
        deletion: Deletion::Delete("with the account (foreign-key cascade)"),
    },
    DataCategory {
        name: "Single sign-on in progress",
        data: "hashed browser binding and state, nonce, PKCE verifier, the page to return to",
        stores: &[Store {
            table: "oidc_logins",
            columns: &["binding_hash", "state_hash", "nonce", "pkce_verifier", "next_path", "created_at", "expires_at"],
            member: MemberLink::None,
        }],
        files: None,
        purpose: "finishing a sign-in at the provider safely",
        basis: LegalBasis::Contract,
        retention: "single use, at most 10 minutes; purged every minute",
        export: Export::No("never tied to a member"),
        deletion: Deletion::Purge("within 10 minutes"),
    },
    DataCategory {
        name: "Single sign-on sign-up waiting for the age check",
        data: "provider, the provider's id, the verified email and a suggested name",
        stores: &[Store {
            table: "oidc_signups",
            columns: &["issuer", "subject", "email", "name", "next_path", "created_at", "expires_at", "binding_hash"],
            member: MemberLink::None,
        }],
        files: None,
        purpose: "letting someone new finish creating an account",
        basis: LegalBasis::Contract,
        retention: "until the account is created or refused, at most 10 minutes; purged every minute",
        export: Export::No("not yet a member"),
        deletion: Deletion::Purge("at once when the age check refuses, otherwise within 10 minutes"),
    },
    DataCategory {
        name: "Downloads",
        data: "which image and size was downloaded, when, and by which member when signed in (the link only as a SHA-256 hash)",
        stores: &[Store {
            table: "download_events",
            columns: &["image_id", "variant", "created_at", "user_id", "link_hash"],
            member: MemberLink::Column("user_id"),
        }],
        files: None,
        purpose: "counting downloads (once per visitor, image and day, however many links were made); the member's activity history",
        basis: LegalBasis::LegitimateInterest,
        retention: "90 days; then the download is added to a per-day total for the image and size (`download_daily`, which names nobody) and the row is deleted",
        export: Export::Without {
            columns: &["link_hash"],
            what: "the link hash",
        },
        deletion: Deletion::Anonymise {
            how: "the member reference is removed (`ON DELETE SET NULL`); the anonymous count stays",
            clear: &[],
        },
    },
    DataCategory {
        name: "Usage events",
        data: "page views (which kind of page — its route, such as /photos/{id} — never the page itself, and never who) and searches (whether they found anything, never the words, and the member when signed in and their activity history is on)",
        stores: &[Store {
            table: "usage_events",
            columns: &["kind", "subject", "created_at", "user_id"],
            member: MemberLink::Column("user_id"),
        }],
        files: None,
        purpose: "statistics about how the service is used; the member's activity history",
        basis: LegalBasis::LegitimateInterest,
        retention: "90 days; then the event is added to a per-day total for its kind and subject (`usage_daily`, which names nobody) and the row is deleted",
        export: Export::Yes,
        deletion: Deletion::Anonymise {
            how: "the member reference is removed (`ON DELETE SET NULL`); the anonymous count stays",
            clear: &[],
        },
    },
    DataCategory {
        name: "View and download counting",
        data: "a keyed hash of IP address, browser and day (not reversible, and different every day)",
        stores: &[
            Store {
                table: "image_views",
                columns: &["visitor", "day"],
                member: MemberLink::None,
            },
            Store {
                table: "download_visitors",
                columns: &["visitor", "day"],
                member: MemberLink::None,
            },
        ],
        files: None,
        purpose: "counting a visitor's views and downloads of an image once a day without any cookie",
        basis: LegalBasis::LegitimateInterest,
        retention: "until the next day; purged every minute",
        export: Export::No("it cannot be linked to a member"),
        deletion: Deletion::NotLinked("it cannot be linked to a member"),
    },
    DataCategory {
        name: "Cookie decisions",
        data: "a random consent id (also in the browser's consent cookie), the member when signed in, policy version, whether preferences and analytics are allowed, how the choice was made (accept all, reject all, custom), whether the browser sent Global Privacy Control, the network (IPv4 /24 or IPv6 /48, never the full address), and when",
        stores: &[Store {
            table: "consent_records",
            columns: &["consent_id", "policy_version", "preferences", "analytics", "method", "gpc", "ip_prefix", "decided_at"],
            member: MemberLink::Column("user_id"),
        }],
        files: None,
        purpose: "proving what each visitor agreed to, and when",
        basis: LegalBasis::LegalObligation,
        retention: "while the consent applies: 180 days from the decision, as long as the consent cookie lasts (repeating the same choice stores nothing and does not extend it); then purged every minute",
        export: Export::Yes,
        deletion: Deletion::Delete("with the account (foreign-key cascade)"),
    },
    DataCategory {
        name: "Sessions",
        data: "device (user agent, at most 300 characters), IP address, country (from a trusted proxy only), when signed in, last seen and expiring, and \"remember me\" (the session token only as its SHA-256 hash)",
        stores: &[Store {
            table: "sessions",
            columns: &["user_agent", "ip", "country", "created_at", "last_seen_at", "expires_at", "remember", "handle", "token_hash"],
            member: MemberLink::Column("user_id"),
        }],
        files: None,
        purpose: "keeping the member signed in; showing them where they are signed in; security",
        basis: LegalBasis::Contract,
        retention: "until sign-out, \"sign out everywhere\", or expiry (1 day, or 30 days with \"remember me\"); expired rows are purged every minute, and the IP address is cleared after `ATELIER_SESSION_IP_DAYS` (7 by default)",
        export: Export::Without {
            columns: &["token_hash"],
            what: "the token hash",
        },
        deletion: Deletion::Delete("with the account (foreign-key cascade)"),
    },
    DataCategory {
        name: "Privacy settings",
        data: "whether downloads are kept in the member's history, personalised recommendations, use of what the member writes to improve the service, marketing email, how long chats are kept, and when these last changed",
        stores: &[Store {
            table: "privacy_settings",
            columns: &["analytics", "marketing_email", "improve_service", "personalised", "chat_retention", "updated_at"],
            member: MemberLink::Column("user_id"),
        }],
        files: None,
        purpose: "doing only what the member allows with their data",
        basis: LegalBasis::LegalObligation,
        retention: "until the account is deleted",
        export: Export::Yes,
        deletion: Deletion::Delete("with the account (foreign-key cascade)"),
    },
    DataCategory {
        name: "Data requests",
        data: "each export, account deletion, correction, objection or restriction asked for: the kind, what the member wrote or switched off, its status, when it was made, the date it is due by law, when and how it ended, and an appeal against a refusal with its answer",
        stores: &[Store {
            table: "data_requests",
            columns: &[
                "kind",
                "details",
                "status",
                "created_at",
                "due_at",
                "closed_at",
                "outcome",
                "appeal",
                "appealed_at",
                "appeal_status",
                "appeal_outcome",
                "appeal_closed_at",
            ],
            member: MemberLink::Column("user_id"),
        }],
        files: None,
        purpose: "answering data requests within the legal deadline, and proving that we did",
        basis: LegalBasis::LegalObligation,
        retention: "while the account exists; afterwards without the member reference",
        export: Export::Yes,
        deletion: Deletion::Anonymise {
            how: "the member reference and what the member wrote (details, appeal) are removed; the kind, dates and outcome stay as the record that the request was handled",
            clear: &["details", "appeal"],
        },
    },
    DataCategory {
        name: "Data exports",
        data: "each export: its status and progress, size, when it was asked for, became ready and expires",
        stores: &[Store {
            table: "data_exports",
            columns: &["status", "progress", "size_bytes", "created_at", "ready_at", "expires_at", "file_key"],
            member: MemberLink::Column("user_id"),
        }],
        files: Some(Files {
            description: "the export zip in private media storage (under `exports/`, never served publicly)",
            table: "data_exports",
            key_column: "file_key",
            exported: false,
        }),
        purpose: "giving the member a copy of their data",
        basis: LegalBasis::LegalObligation,
        retention: "the zip is deleted 7 days after it is ready; the record of the export stays while the account exists",
        export: Export::Without {
            columns: &["file_key"],
            what: "the storage key",
        },
        deletion: Deletion::Delete("the rows and the zip files"),
    },
    DataCategory {
        name: "Scheduled account deletion",
        data: "when the member asked to delete the account, and when the deletion happens",
        stores: &[Store {
            table: "account_deletions",
            columns: &["requested_at", "due_at"],
            member: MemberLink::Column("user_id"),
        }],
        files: None,
        purpose: "deleting the account at the end of the grace period, unless the member cancels",
        basis: LegalBasis::LegalObligation,
        retention: "until the deletion happens or is cancelled",
        export: Export::Yes,
        deletion: Deletion::Delete("the row goes with the account"),
    },
    DataCategory {
        name: "Chat conversations",
        data: "the member's conversations with AI contributors: which contributor, the title, every message the member wrote and every reply (its text, the reply rendered for the page, whether it completed, was stopped or failed, and whether it used a free reply or a credit), when each was written, and how many free replies were used each day",
        stores: &[
            Store {
                table: "chat_conversations",
                columns: &["public_id", "contributor_id", "title", "title_source", "created_at", "updated_at"],
                member: MemberLink::Column("user_id"),
            },
            Store {
                table: "chat_messages",
                columns: &["conversation_id", "role", "content", "html", "state", "charge", "created_at"],
                member: MemberLink::Column("user_id"),
            },
            Store {
                table: "chat_allowance",
                columns: &["day", "used"],
                member: MemberLink::Column("user_id"),
            },
        ],
        files: None,
        purpose: "answering the member in character and keeping the conversation for them; the message, the persona's instructions and the conversation's earlier messages are sent to the configured model provider to write each reply",
        basis: LegalBasis::Contract,
        retention: "as the member's chat-history setting says: until they delete the conversation (the default), 30 days after its last message, or an hour after it; free-reply counts until the account is deleted",
        export: Export::Without {
            columns: &["html"],
            what: "the replies rendered as HTML (their text is exported)",
        },
        deletion: Deletion::Delete("the conversations, their messages and the daily counts"),
    },
    DataCategory {
        name: "Collections",
        data: "the collections the member makes (name, description, whether anyone with the link may see it, its cover, when it was made, changed and deleted) and the library images each holds, in the member's order, with when each was saved",
        stores: &[
            Store {
                table: "collections",
                columns: &[
                    "slug",
                    "name",
                    "description",
                    "is_public",
                    "cover_image_id",
                    "created_at",
                    "updated_at",
                    "deleted_at",
                ],
                member: MemberLink::Column("user_id"),
            },
            Store {
                table: "collection_items",
                columns: &["collection_id", "image_id", "position", "added_at"],
                member: MemberLink::Column("user_id"),
            },
        ],
        files: None,
        purpose: "keeping the images the member saves, and showing the collections they make public to anyone with the link",
        basis: LegalBasis::Contract,
        retention: "until the member deletes them or the account; a deleted collection can be restored for 10 minutes and is then removed",
        export: Export::Yes,
        deletion: Deletion::Delete("the collections and their entries; the images stay in the library"),
    },
    DataCategory {
        name: "Collection exports",
        data: "each zip the member made of a collection: which collection, the size chosen and whether the originals came too, its status and progress, how many images and bytes it held, why it failed if it did, when it was asked for, became ready and expires",
        stores: &[Store {
            table: "collection_exports",
            columns: &[
                "collection_id",
                "variant",
                "with_originals",
                "status",
                "progress",
                "item_count",
                "size_bytes",
                "error",
                "created_at",
                "ready_at",
                "expires_at",
                "file_key",
            ],
            member: MemberLink::Column("user_id"),
        }],
        files: Some(Files {
            description: "the collection zip in private media storage (under `exports/`, never served publicly)",
            table: "collection_exports",
            key_column: "file_key",
            // Library images, not the member's own data: the collection's entries say
            // which images they were.
            exported: false,
        }),
        purpose: "giving the member a download of a collection they made",
        basis: LegalBasis::Contract,
        retention: "the zip is deleted a day after it is ready; the record of the export stays while the account exists",
        export: Export::Without {
            columns: &["file_key"],
            what: "the storage key",
        },
        deletion: Deletion::Delete("the rows and the zip files"),
    },
    DataCategory {
        name: "Credits",
        data: "the member's credit balance, and every change to it: the amount, the reason (a plan's monthly credits, a pack, a chat reply, a refund), what it was for, the balance after it and when it happened",
        stores: &[
            Store {
                table: "credit_accounts",
                columns: &["balance", "updated_at"],
                member: MemberLink::Column("user_id"),
            },
            Store {
                table: "credit_ledger",
                columns: &["amount", "reason", "reference", "idempotency_key", "balance_after", "created_at"],
                member: MemberLink::Column("user_id"),
            },
        ],
        files: None,
        purpose: "metering paid work in credits, and showing the member how their balance came about",
        basis: LegalBasis::Contract,
        retention: "while the account exists; entries are never changed, corrections are new entries",
        export: Export::Without {
            columns: &["idempotency_key"],
            what: "the internal key that stops an entry being counted twice",
        },
        deletion: Deletion::Delete("the balance and every entry, with the account"),
    },
    DataCategory {
        name: "Billing",
        data: "the member's Stripe customer and subscription ids, the plan, the subscription's status, price, renewal date and whether it is cancelled, and the credit packs bought (pack, credits, Checkout and payment ids, when, whether refunded); never a card, an address or any other payment detail, which Stripe holds",
        stores: &[
            Store {
                table: "billing_accounts",
                columns: &[
                    "stripe_customer_id",
                    "subscription_id",
                    "status",
                    "plan",
                    "price_id",
                    "current_period_end",
                    "cancel_at_period_end",
                    "synced_at",
                    "created_at",
                    "updated_at",
                ],
                member: MemberLink::Column("user_id"),
            },
            Store {
                table: "credit_purchases",
                columns: &["checkout_session_id", "payment_intent_id", "pack", "credits", "refunded_at", "created_at"],
                member: MemberLink::Column("user_id"),
            },
        ],
        files: None,
        purpose: "taking payment for plans and credit packs through Stripe, and applying the plan the member paid for",
        basis: LegalBasis::Contract,
        retention: "while the account exists; invoices and payment records are kept by Stripe as tax law requires",
        export: Export::Yes,
        deletion: Deletion::Delete("the rows go with the account, and the customer is deleted at Stripe first, which ends any subscription"),
    },
];

/// Every other table, so the coverage test can tell a forgotten table from a harmless one.
pub const UNLINKED: &[Unlinked] = &[
    Unlinked {
        tables: &["stripe_events"],
        why: "the ids and types of Stripe events already received, so each is handled once; the events' content is not kept",
    },
    Unlinked {
        tables: &["contributors", "categories", "images", "image_tags", "image_files"],
        why: "the library itself; the demo contributors are fictional AI personas",
    },
    Unlinked {
        tables: &["image_search", "search_terms"],
        why: "the search index of the library's own text (titles, tags, descriptions, contributor and category names, and each image's orientation, category, contributor and colour as filter tokens) and its vocabulary; what visitors search for is never stored or logged",
    },
    Unlinked {
        tables: &["download_daily"],
        why: "downloads older than 90 days, counted per image, size and day; the rows they came from, which may have named a member, are deleted as they are counted",
    },
    Unlinked {
        tables: &["chat_personas"],
        why: "how each AI contributor talks and greets people in chat; the contributors are fictional personas",
    },
    Unlinked {
        tables: &["usage_daily"],
        why: "page views and searches older than 90 days, counted per kind, subject and day; the rows they came from, which may have named a member, are deleted as they are counted",
    },
    Unlinked {
        tables: &["account_tombstones"],
        why: "what remains of a deleted account: its number and the date it was deleted, nothing else",
    },
    Unlinked {
        tables: &["image_hotlinks"],
        why: "which other sites embed an image: the referring domain, the day and a count — never the referring page, the visitor or their address",
    },
];

/// The tables a category lists, for the coverage test.
pub fn inventoried_tables() -> impl Iterator<Item = &'static str> {
    CATEGORIES
        .iter()
        .flat_map(|category| category.stores.iter().map(|store| store.table))
        .chain(UNLINKED.iter().flat_map(|unlinked| unlinked.tables.iter().copied()))
}

/// The column that ties a table's rows to a member, where one does.
pub fn member_column(table: &str) -> Option<&'static str> {
    CATEGORIES
        .iter()
        .flat_map(|category| category.stores.iter())
        .filter(|store| store.table == table)
        .find_map(|store| match store.member {
            MemberLink::Column(column) => Some(column),
            _ => None,
        })
}

/// docs/DATA.md: the inventory as tables, then the notes written by hand in
/// `data_notes.md`. `server data-inventory` prints it; a test keeps the file in step.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Data inventory\n\n\
         What Atelier stores about people, where, why, for how long, and what export and deletion\n\
         do with it. **Generated** from `app/src/features/privacy/inventory.rs` by\n\
         `server data-inventory > docs/DATA.md`; a test fails when this file and the code differ,\n\
         and another when a table that references a member is missing from the inventory.\n\n\
         ## Personal data\n\n\
         | category | what | where | purpose | legal basis | retention | export | on deletion |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for category in CATEGORIES {
        let mut places: Vec<String> = category
            .stores
            .iter()
            .map(|store| {
                let columns = store
                    .columns
                    .iter()
                    .map(|column| format!("`{}.{column}`", store.table))
                    .collect::<Vec<_>>()
                    .join(", ");
                match store.member {
                    MemberLink::Column(column) => format!("{columns} (member: `{}.{column}`)", store.table),
                    MemberLink::Address(column) => format!("{columns} (member by address: `{}.{column}`)", store.table),
                    MemberLink::None => format!("{columns} (not tied to a member)"),
                }
            })
            .collect();
        if let Some(files) = &category.files {
            places.push(files.description.to_owned());
        }
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            category.name,
            category.data,
            places.join("; "),
            category.purpose,
            category.basis.label(),
            category.retention,
            category.export.describe(),
            category.deletion.describe(),
        ));
    }
    out.push_str("\n## Not personal data\n\n");
    for unlinked in UNLINKED {
        let tables = unlinked
            .tables
            .iter()
            .map(|table| format!("`{table}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!("- {tables}: {}.\n", unlinked.why));
    }
    out.push('\n');
    out.push_str(include_str!("data_notes.md"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn docs_data_md_is_the_generated_inventory() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/DATA.md");
        let on_disk = std::fs::read_to_string(path).expect("docs/DATA.md exists");
        assert!(
            on_disk == markdown(),
            "docs/DATA.md differs from the inventory: run `server data-inventory > docs/DATA.md`"
        );
    }

    #[test]
    fn every_table_is_listed_once_as_personal_or_not() {
        let unlinked: BTreeSet<_> = UNLINKED.iter().flat_map(|u| u.tables.iter().copied()).collect();
        for category in CATEGORIES {
            assert!(!category.stores.is_empty(), "{} says where it lives", category.name);
            for store in category.stores {
                assert!(
                    !unlinked.contains(store.table),
                    "{} is listed as personal and as not personal",
                    store.table
                );
                assert!(!store.columns.is_empty(), "{} names its columns", store.table);
            }
        }
    }

    #[test]
    fn a_table_is_tied_to_members_in_one_way_only() {
        for category in CATEGORIES {
            for store in category.stores {
                let links: BTreeSet<_> = CATEGORIES
                    .iter()
                    .flat_map(|c| c.stores.iter())
                    .filter(|other| other.table == store.table)
                    .map(|other| format!("{:?}", other.member))
                    .collect();
                assert_eq!(
                    links.len(),
                    1,
                    "{} is tied to members in more than one way",
                    store.table
                );
            }
        }
        assert_eq!(member_column("sessions"), Some("user_id"));
        assert_eq!(member_column("users"), Some("id"));
        assert_eq!(member_column("image_views"), None);
    }
}
