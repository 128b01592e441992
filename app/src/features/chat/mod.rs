//! Chat with AI contributors: each contributor's persona answers in character, replies
//! stream from the configured provider to the browser as they are written, and
//! conversations are kept, listed, renamed and deleted under the member's chat-retention
//! setting. Replies are metered through a free daily allowance, then the credit ledger.

pub mod api;
pub mod client;
pub mod sse;
pub mod views;

#[cfg(feature = "ssr")]
pub mod markdown;
#[cfg(feature = "ssr")]
pub mod metering;
#[cfg(feature = "ssr")]
pub mod persona;
#[cfg(feature = "ssr")]
pub mod provider;
#[cfg(feature = "ssr")]
pub mod reply;
#[cfg(feature = "ssr")]
pub mod safety;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// The longest message a member may send, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4_000;
/// The longest conversation title, in characters.
pub const MAX_TITLE_CHARS: usize = 80;
/// Credits a reply costs once the day's free replies are used.
pub const REPLY_CREDITS: i64 = 1;

/// The page of one conversation.
pub fn conversation_href(public_id: &str) -> String {
    format!("/chat/{public_id}")
}

/// Whether chat can answer on this instance, and what the member has left today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Availability {
    /// No provider is configured: the pages say how to set one up.
    NotConfigured,
    Ready {
        /// Free replies left today.
        free_left: u32,
        /// Free replies a day on the member's plan.
        free_daily: u32,
        balance: i64,
    },
}

/// One conversation in the member's list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub public_id: String,
    pub title: String,
    pub contributor_name: String,
    pub accent: String,
    /// The last message's first words.
    pub preview: String,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatList {
    pub conversations: Vec<ConversationSummary>,
    pub availability: Availability,
    /// How long conversations are kept, from the member's privacy settings.
    pub retention: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageState {
    Streaming,
    Complete,
    Stopped,
    Failed,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Streaming => "streaming",
            Self::Complete => "complete",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Streaming, Self::Complete, Self::Stopped, Self::Failed]
            .into_iter()
            .find(|state| state.as_str() == value)
    }
}

/// A message as the conversation page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: i64,
    pub from_member: bool,
    /// The member's text as written; for a persona, the Markdown source.
    pub text: String,
    /// A persona reply rendered and sanitised on the server; empty for the member's own.
    pub html: String,
    pub state: MessageState,
}

/// The contributor a conversation is with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPartner {
    pub slug: String,
    pub name: String,
    pub style: String,
    pub accent: String,
    pub greeting: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub public_id: String,
    pub title: String,
    pub partner: ChatPartner,
    pub messages: Vec<ChatMessage>,
    pub availability: Availability,
    pub retention: String,
}

/// The events of a reply stream (`POST /chat/{id}/messages`), as `event:` names; each
/// `data:` is JSON.
pub mod wire {
    use serde::{Deserialize, Serialize};

    /// `data`: a JSON string, the next piece of text.
    pub const DELTA: &str = "delta";
    /// `data`: [`Done`].
    pub const DONE: &str = "done";
    /// `data`: [`Failed`].
    pub const ERROR: &str = "error";

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Done {
        pub html: String,
        pub title: String,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Failed {
        pub message: String,
        /// What arrived before the failure, rendered; empty when nothing did.
        pub html: String,
    }
}
