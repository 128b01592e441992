//! `/chat` (the member's conversations) and `/chat/{id}` (one conversation: the persona's
//! greeting, every message, the reply streaming in with a stop button, retry, rename and
//! delete, and a keyboard-first composer), plus the "Chat with …" button on contributor
//! pages.

use super::{
    api::{load_chat_list, load_conversation, DeleteChat, RenameChat, StartChat},
    conversation_href, Availability, ChatList, ChatMessage, Conversation, ConversationSummary, MessageState,
    MAX_MESSAGE_CHARS, MAX_TITLE_CHARS,
};
use crate::{
    dates::format_day,
    error::AppError,
    ui::{
        form::{action_error, FormAlert},
        meta::PageMeta,
        status::{EmptyState, ErrorNotice, MembersOnly, NotFound, SignInPrompt},
    },
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use send_wrapper::SendWrapper;

/// What a page without a configured provider says, and what the operator sets.
#[component]
fn NotConfigured() -> impl IntoView {
    view! {
        <div class="card mt-8" role="status" data-testid="chat-not-configured">
            <p class="font-semibold text-ink">"Chat is not set up on this instance"</p>
            <p class="mt-2 text-sm text-muted">
                "Nothing here pretends to answer: the contributors speak through a language model, and none is configured. "
                "An operator sets " <code>"ATELIER_CHAT_PROVIDER"</code> " (" <code>"openai"</code> " for OpenAI or any compatible server such as Ollama, vLLM or llama.cpp, or "
                <code>"anthropic"</code> "), " <code>"ATELIER_CHAT_MODEL"</code> " and, for hosted providers, "
                <code>"ATELIER_CHAT_API_KEY"</code> "; the README lists every setting."
            </p>
        </div>
    }
}

/// Today's free replies and the balance, in one line.
fn allowance_line(availability: &Availability) -> Option<String> {
    match availability {
        Availability::NotConfigured => None,
        Availability::Ready {
            free_left,
            free_daily,
            balance,
        } => Some(match (free_left, balance) {
            (0, 0) => format!("You have used today's {free_daily} free replies and have no credits."),
            (0, balance) => format!("Today's free replies are used; each reply now costs 1 of your {balance} credits."),
            (left, _) => format!("{left} of {free_daily} free replies left today; then 1 credit a reply."),
        }),
    }
}

#[component]
pub fn ChatListPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| load_chat_list());
    let query = use_query_map();
    let deleted = move || query.read().get("deleted").is_some();
    view! {
        <PageMeta title="Chats" description="Your conversations with Atelier's AI contributors."/>
        <section class="mx-auto max-w-4xl px-4 py-12 sm:px-6">
            <h1 class="font-display text-3xl font-semibold tracking-tight text-ink">"Chats"</h1>
            <p class="mt-2 text-muted">"Talk with the library's AI contributors about their style, their work and ideas for images."</p>
            <Show when=deleted>
                <p class="form-notice mt-6" role="status" data-testid="chat-deleted">"The conversation was deleted."</p>
            </Show>
            <MembersOnly data=list loading="Loading your conversations…" sign_in="Sign in to chat with contributors" path="/chat"
                loaded=move |list: ChatList| view! { <ChatListBody list/> }/>
        </section>
    }
}

#[component]
fn ChatListBody(list: ChatList) -> impl IntoView {
    let ChatList {
        conversations,
        availability,
        retention,
    } = list;
    let configured = availability != Availability::NotConfigured;
    let body = if conversations.is_empty() {
        view! {
            <EmptyState title="No conversations yet" message="Open a contributor's page and choose “Chat with …” to start one.">
                <a href="/contributors" class="btn-secondary">"Meet the contributors"</a>
            </EmptyState>
        }
        .into_any()
    } else {
        view! {
            <ul class="mt-8 divide-y divide-line rounded-2xl border border-line bg-surface" data-testid="chat-list">
                {conversations.into_iter().map(|conversation| view! { <ConversationRow conversation/> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        {(!configured).then(|| view! { <NotConfigured/> })}
        <p class="mt-6 text-sm text-muted">
            {allowance_line(&availability)}" "{retention}" "
            <a href="/account/privacy" class="link">"Change how long chats are kept"</a>
        </p>
        {body}
    }
}

#[component]
fn ConversationRow(conversation: ConversationSummary) -> impl IntoView {
    let ConversationSummary {
        public_id,
        title,
        contributor_name,
        accent,
        preview,
        updated_at,
    } = conversation;
    view! {
        <li>
            <a href=conversation_href(&public_id) class="flex items-start gap-4 px-5 py-4 hover:bg-line/30 focus-visible:bg-line/30">
                <span class="mt-1.5 size-3 shrink-0 rounded-full" style=format!("background:{accent}") aria-hidden="true"></span>
                <span class="min-w-0 flex-1">
                    <span class="flex items-baseline justify-between gap-3">
                        <span class="truncate font-semibold text-ink">{title}</span>
                        <span class="shrink-0 text-xs text-muted">{format_day(updated_at)}</span>
                    </span>
                    <span class="block text-sm text-muted">{contributor_name}</span>
                    <span class="mt-1 block truncate text-sm text-muted">{preview}</span>
                </span>
            </a>
        </li>
    }
}

#[component]
pub fn ConversationPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").unwrap_or_default());
    let data = Resource::new(
        move || id.get(),
        |id| async move {
            if id.is_empty() || id.len() > 40 {
                Ok(None)
            } else {
                load_conversation(id).await
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <div class="mx-auto m-6 h-96 max-w-3xl animate-pulse rounded-2xl bg-line/40" aria-busy="true"></div> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(Some(conversation)) => view! { <ConversationBody conversation/> }.into_any(),
                    Ok(None) => view! { <NotFound/> }.into_any(),
                    Err(AppError::Unauthorized) => view! {
                        <div class="mx-auto max-w-3xl px-4 py-12"><SignInPrompt heading="Sign in to see this conversation" next=conversation_href(&id.get_untracked())/></div>
                    }.into_any(),
                    Err(error) => view! { <div class="mx-auto max-w-3xl px-4 py-16"><ErrorNotice error retry_href="/chat"/></div> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A reply being written: what has arrived so far.
#[derive(Clone, Debug, Default)]
struct Streaming {
    text: String,
}

/// What the page without JavaScript was sent back with (`?error=`), in the member's words.
fn error_for(code: &str) -> Option<&'static str> {
    Some(match code {
        "busy" => "A reply is still being written here. Wait for it, or stop it, before sending another message.",
        "credits" => "You have no free replies or credits left today.",
        "invalid" => "That message could not be sent: write something, at most 4,000 characters.",
        "refused" => "That message asks for something the acceptable-use rules forbid, so it was not sent.",
        "limited" => "You are sending messages faster than we can answer. Wait a moment.",
        "off" => "Chat is not set up on this instance.",
        "internal" => "Something went wrong on our side. Nothing was charged; try again.",
        "missing" => "There is no such conversation.",
        _ => return None,
    })
}

#[component]
fn ConversationBody(conversation: Conversation) -> impl IntoView {
    let Conversation {
        public_id,
        title,
        partner,
        messages,
        availability,
        retention,
    } = conversation;
    let configured = availability != Availability::NotConfigured;
    let title = RwSignal::new(title);
    let messages = RwSignal::new(messages);
    let streaming: RwSignal<Option<Streaming>> = RwSignal::new(None);
    let draft = RwSignal::new(String::new());
    let query = use_query_map();
    let error: RwSignal<Option<String>> = RwSignal::new(
        query
            .read_untracked()
            .get("error")
            .and_then(|code| error_for(&code))
            .map(str::to_owned),
    );
    let availability = RwSignal::new(availability);
    let allowance = Signal::derive(move || availability.with(allowance_line));
    // Messages shown before the server numbers them count down from -1.
    let local_ids = StoredValue::new(-1_i64);
    // Not `new_local`: on the server a local value is wrapped in a `SendWrapper` that
    // panics when the page's owner is dropped on another thread than the one that rendered
    // it, which a busy multi-threaded runtime does (the load gate's conversation pages
    // lost their connection). The controller only ever exists in the browser, so the
    // server stores `None` and has nothing to drop.
    let controller = StoredValue::new(None::<SendWrapper<web_sys::AbortController>>);
    let id = StoredValue::new(public_id.clone());

    let send = move |text: Option<String>| {
        if streaming.get_untracked().is_some() {
            return;
        }
        error.set(None);
        let retrying = text.is_none();
        let mut replaced = None;
        let local_id = local_ids.get_value();
        local_ids.set_value(local_id - 1);
        match &text {
            Some(text) => messages.update(|list| {
                list.push(ChatMessage {
                    id: local_id,
                    from_member: true,
                    text: text.clone(),
                    html: String::new(),
                    state: MessageState::Complete,
                })
            }),
            // A retry replaces the last reply (it comes back if the retry is refused).
            None => messages.update(|list| {
                if list.last().is_some_and(|last| !last.from_member) {
                    replaced = list.pop();
                }
            }),
        }
        streaming.set(Some(Streaming::default()));
        run_stream(
            id.get_value(),
            text,
            retrying,
            local_id,
            replaced,
            RunSignals {
                messages,
                streaming,
                error,
                draft,
                title,
                availability,
                controller,
                local_ids,
            },
        );
    };
    let stop = move || {
        controller.with_value(|controller| {
            if let Some(controller) = controller {
                controller.abort();
            }
        });
    };

    let last_reply_retryable = move || {
        streaming.get().is_none()
            && messages.with(|list| {
                list.last()
                    .is_some_and(|last| !last.from_member && last.state != MessageState::Streaming)
            })
    };
    let super::ChatPartner {
        slug,
        name,
        style,
        accent,
        greeting,
    } = partner;
    let description = format!("A conversation with {name}.");
    let name_in_list = name.clone();
    let name_while_writing = name.clone();
    view! {
        <PageMeta title=Signal::derive(move || title.get()) description/>
        <section class="mx-auto flex max-w-3xl flex-col px-4 py-8 sm:px-6" style=format!("--persona:{accent}")>
            <ConversationHeader public_id=public_id.clone() title partner_name=name.clone() partner_href=format!("/contributors/{slug}") style/>
            {(!configured).then(|| view! { <NotConfigured/> })}
            <ol class="mt-6 space-y-4" role="log" aria-label="Messages" data-testid="messages">
                <li class="chat-bubble chat-persona" data-testid="greeting">
                    <p class="chat-author">{name}</p>
                    <p>{greeting}</p>
                </li>
                <For each=move || messages.get() key=|message| (message.id, message.state) let:message>
                    <MessageBubble message partner_name=name_in_list.clone()/>
                </For>
                {move || streaming.get().map(|reply| view! {
                    <li class="chat-bubble chat-persona" aria-busy="true" data-testid="streaming">
                        <p class="chat-author">{name_while_writing.clone()}" · writing…"</p>
                        <p class="whitespace-pre-wrap">{reply.text}</p>
                    </li>
                })}
            </ol>
            <Show when=last_reply_retryable>
                <div class="mt-3 flex justify-end">
                    <button type="button" class="btn-secondary h-9 px-4" data-testid="retry" on:click=move |_| send(None)>"Retry the last reply"</button>
                </div>
            </Show>
            <Composer public_id configured draft streaming error allowance
                on_send=Callback::new(move |text: String| send(Some(text)))
                on_stop=Callback::new(move |()| stop())/>
            <p class="mt-3 text-xs text-muted">
                {retention}" What you write here is sent to the model that powers chat, with this conversation's earlier messages; "
                <a href="/privacy" class="link">"the privacy policy says more"</a>"."
            </p>
        </section>
    }
}

/// The signals a running reply writes to.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct RunSignals {
    messages: RwSignal<Vec<ChatMessage>>,
    streaming: RwSignal<Option<Streaming>>,
    error: RwSignal<Option<String>>,
    draft: RwSignal<String>,
    title: RwSignal<String>,
    availability: RwSignal<Availability>,
    controller: StoredValue<Option<SendWrapper<web_sys::AbortController>>>,
    local_ids: StoredValue<i64>,
}

/// Streams one reply into the page (in the browser; on the server there is nothing to run).
#[allow(unused_variables)]
fn run_stream(
    public_id: String,
    text: Option<String>,
    retrying: bool,
    member_message: i64,
    replaced: Option<ChatMessage>,
    signals: RunSignals,
) {
    #[cfg(feature = "hydrate")]
    {
        use super::client::{message_body, post_stream, ReplyEvent, StreamError};
        let Ok(abort) = web_sys::AbortController::new() else {
            signals.streaming.set(None);
            signals.error.set(Some("This browser cannot stream replies.".into()));
            return;
        };
        let signal = abort.signal();
        signals.controller.set_value(Some(SendWrapper::new(abort)));
        let url = if retrying {
            format!("/chat/{public_id}/retry")
        } else {
            format!("/chat/{public_id}/messages")
        };
        let body = text.as_deref().map(message_body);
        leptos::task::spawn_local(async move {
            let mut ended = false;
            let result = post_stream(&url, body, &signal, |event| match event {
                ReplyEvent::Delta(piece) => signals.streaming.update(|reply| {
                    if let Some(reply) = reply {
                        reply.text.push_str(&piece);
                    }
                }),
                ReplyEvent::Done(done) => {
                    ended = true;
                    let text = signals.streaming.get_untracked().unwrap_or_default().text;
                    push_reply(signals, text, done.html, MessageState::Complete);
                    signals.title.set(done.title);
                }
                ReplyEvent::Failed(failed) => {
                    ended = true;
                    let text = signals.streaming.get_untracked().unwrap_or_default().text;
                    push_reply(signals, text, failed.html, MessageState::Failed);
                    signals.error.set(Some(failed.message));
                }
            })
            .await;
            signals.controller.set_value(None);
            let stopped = matches!(result, Err(StreamError::Aborted));
            match result {
                Ok(()) if ended => {}
                Ok(()) | Err(StreamError::Aborted) | Err(StreamError::Network) => {
                    // What arrived stays; the server kept it as a stopped reply.
                    let text = signals.streaming.get_untracked().unwrap_or_default().text;
                    push_reply(signals, text, String::new(), MessageState::Stopped);
                    if !stopped {
                        signals.error.set(Some(StreamError::Network.message()));
                    }
                }
                Err(refused @ StreamError::Refused { .. }) => {
                    // Nothing was stored: the message goes back into the composer, and a
                    // reply a refused retry would have replaced is still there.
                    signals.messages.update(|list| {
                        list.retain(|message| message.id != member_message);
                        list.extend(replaced);
                    });
                    if let Some(text) = text {
                        signals.draft.set(text);
                    }
                    signals.error.set(Some(refused.message()));
                }
            }
            signals.streaming.set(None);
        });
    }
}

/// Adds the finished reply to the list; a complete one used a free reply or a credit.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn push_reply(signals: RunSignals, text: String, html: String, state: MessageState) {
    let id = signals.local_ids.get_value();
    signals.local_ids.set_value(id - 1);
    signals.messages.update(|list| {
        list.push(ChatMessage {
            id,
            from_member: false,
            text,
            html,
            state,
        })
    });
    if state == MessageState::Complete {
        signals.availability.update(|availability| {
            if let Availability::Ready { free_left, balance, .. } = availability {
                if *free_left > 0 {
                    *free_left -= 1;
                } else {
                    *balance = (*balance - super::REPLY_CREDITS).max(0);
                }
            }
        });
    }
}

#[component]
fn MessageBubble(message: ChatMessage, partner_name: String) -> impl IntoView {
    if message.from_member {
        return view! {
            <li class="chat-bubble chat-member" data-testid="member-message">
                <p class="chat-author">"You"</p>
                <p class="whitespace-pre-wrap">{message.text}</p>
            </li>
        }
        .into_any();
    }
    let note = match message.state {
        MessageState::Stopped => Some("Stopped — nothing was charged."),
        MessageState::Failed => Some("Cut off — nothing was charged."),
        MessageState::Streaming => Some("Still being written…"),
        MessageState::Complete => None,
    };
    // The server's sanitised HTML when there is one; otherwise the text as it arrived.
    let body = if message.html.is_empty() {
        view! { <p class="whitespace-pre-wrap">{message.text}</p> }.into_any()
    } else {
        view! { <div class="chat-markdown" inner_html=message.html></div> }.into_any()
    };
    view! {
        <li class="chat-bubble chat-persona" data-testid="persona-message" data-state=message.state.as_str()>
            <p class="chat-author">{partner_name}</p>
            {body}
            {note.map(|note| view! { <p class="mt-2 text-xs text-muted">{note}</p> })}
        </li>
    }
    .into_any()
}

#[component]
fn ConversationHeader(
    public_id: String,
    title: RwSignal<String>,
    partner_name: String,
    partner_href: String,
    style: String,
) -> impl IntoView {
    let rename = ServerAction::<RenameChat>::new();
    let delete = ServerAction::<DeleteChat>::new();
    let renaming = RwSignal::new(false);
    let rename_error = action_error(rename);
    let delete_error = action_error(delete);
    Effect::new(move |_| {
        if let Some(Ok(new_title)) = rename.value().get() {
            title.set(new_title);
            renaming.set(false);
        }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/chat?deleted=1", Default::default());
        }
    });
    // Copy, so the rename form can be built each time it opens.
    let rename_id = StoredValue::new(public_id.clone());
    view! {
        <header class="border-b border-line pb-4">
            <p class="text-sm text-muted"><a href="/chat" class="link">"Chats"</a></p>
            <Show when=move || renaming.get() fallback=move || view! {
                <div class="mt-1 flex flex-wrap items-center gap-3">
                    <h1 class="font-display text-2xl font-semibold tracking-tight text-ink" data-testid="chat-title">{move || title.get()}</h1>
                    <button type="button" class="btn-secondary h-8 px-3 text-sm" on:click=move |_| renaming.set(true)>"Rename"</button>
                </div>
            }>
                <ActionForm action=rename attr:class="mt-1 flex flex-wrap items-start gap-2" attr:data-testid="rename-form">
                    <input type="hidden" name="id" value=rename_id.get_value()/>
                    <label for="chat-title-input" class="sr-only">"Title"</label>
                    <input id="chat-title-input" name="title" class="field-input h-9 max-w-sm" maxlength=MAX_TITLE_CHARS.to_string() required
                        prop:value=move || title.get_untracked() autofocus/>
                    <button type="submit" class="btn-primary h-9 px-4">"Save"</button>
                    <button type="button" class="btn-secondary h-9 px-4" on:click=move |_| renaming.set(false)>"Cancel"</button>
                </ActionForm>
                <FormAlert error=rename_error/>
                {move || rename_error.get().and_then(|error| error.for_field("title")).map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            </Show>
            <p class="mt-1 text-sm text-muted">
                "With "<a href=partner_href class="link">{partner_name}</a>" · "{style}
            </p>
            <details class="mt-3 text-sm">
                <summary class="cursor-pointer text-muted">"Delete this conversation"</summary>
                <ActionForm action=delete attr:class="mt-2 flex flex-wrap items-center gap-3">
                    <input type="hidden" name="id" value=public_id/>
                    <span class="text-ink">"Delete it and every message in it? This cannot be undone."</span>
                    <button type="submit" class="btn-danger h-9 px-4" data-testid="delete-chat">"Delete"</button>
                </ActionForm>
                <FormAlert error=delete_error/>
            </details>
        </header>
    }
}

#[component]
fn Composer(
    public_id: String,
    configured: bool,
    draft: RwSignal<String>,
    streaming: RwSignal<Option<Streaming>>,
    error: RwSignal<Option<String>>,
    allowance: Signal<Option<String>>,
    on_send: Callback<String>,
    on_stop: Callback<()>,
) -> impl IntoView {
    let length = move || draft.with(|text| text.chars().count());
    let submit = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() || streaming.get_untracked().is_some() {
            return;
        }
        if text.chars().count() > MAX_MESSAGE_CHARS {
            error.set(Some("Messages can be at most 4,000 characters.".into()));
            return;
        }
        draft.set(String::new());
        on_send.run(text);
    };
    view! {
        <form method="post" action=format!("/chat/{public_id}/messages") class="mt-6 rounded-2xl border border-line bg-surface p-3"
            data-testid="composer"
            on:submit=move |event| {
                event.prevent_default();
                submit();
            }>
            {move || error.get().map(|message| view! { <p class="form-alert mb-3" role="alert" data-testid="chat-error">{message}</p> })}
            <label for="chat-message" class="sr-only">"Message"</label>
            <textarea id="chat-message" name="text" rows="3" class="field-input min-h-20 resize-y" maxlength=MAX_MESSAGE_CHARS.to_string()
                placeholder={if configured { "Ask about their work, or for an idea for an image…" } else { "Chat is not set up on this instance." }}
                disabled=!configured
                prop:value=move || draft.get()
                on:input=move |event| draft.set(event_target_value(&event))
                on:keydown=move |event: web_sys::KeyboardEvent| {
                    // Enter sends; Shift+Enter is a new line; IME composition is left alone.
                    if event.key() == "Enter" && !event.shift_key() && !event.is_composing() {
                        event.prevent_default();
                        submit();
                    }
                }></textarea>
            <div class="mt-2 flex flex-wrap items-center justify-between gap-3">
                <p class="text-xs text-muted">
                    {move || allowance.get()}
                    {move || (length() > MAX_MESSAGE_CHARS - 500).then(|| format!(" {} / {MAX_MESSAGE_CHARS} characters.", length()))}
                    " Enter sends, Shift+Enter starts a new line."
                </p>
                <Show when=move || streaming.get().is_some() fallback=move || view! {
                    <button type="submit" class="btn-primary h-10 px-5" disabled=!configured data-testid="send">"Send"</button>
                }>
                    <button type="button" class="btn-secondary h-10 px-5" data-testid="stop" on:click=move |_| on_stop.run(())>"Stop"</button>
                </Show>
            </div>
        </form>
    }
}

/// "Chat with …" on a contributor's page: a form, so it works before hydration too. Signed
/// out, the answer is a way to sign in that comes back here.
#[component]
pub fn StartChatButton(slug: String, name: String) -> impl IntoView {
    let first_name = name.split_whitespace().next().unwrap_or(&name).to_owned();
    let start = ServerAction::<StartChat>::new();
    let error = action_error(start);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = start.value().get() {
            navigate(&conversation_href(&id), Default::default());
        }
    });
    let sign_in = format!("/signin?next=/contributors/{slug}");
    let signed_out = move || matches!(error.get(), Some(AppError::Unauthorized));
    view! {
        <ActionForm action=start attr:class="inline-flex flex-col gap-2">
            <input type="hidden" name="contributor" value=slug/>
            <button type="submit" class="btn-primary" data-testid="start-chat" disabled=move || start.pending().get()>
                {format!("Chat with {first_name}")}
            </button>
            <Show when=signed_out fallback=move || view! { <FormAlert error/> }>
                <p class="text-sm text-muted" role="alert">
                    <a href=sign_in.clone() class="link">"Sign in"</a>" to chat with contributors."
                </p>
            </Show>
        </ActionForm>
    }
}
