//! Form parts shared by every page with a form: labelled fields whose error appears under
//! them (and is announced), a summary alert, and a submit button that shows progress.

use crate::error::AppError;
use leptos::prelude::*;

/// The error a server action returned last, if any.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || match action.value().get() {
        Some(Err(error)) => Some(error),
        _ => None,
    })
}

/// Whether the action's last run succeeded.
pub fn action_succeeded<I, O>(action: ServerAction<I>) -> Signal<bool>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || matches!(action.value().get(), Some(Ok(_))))
}

/// The alert above a form: any error that is not about one field.
#[component]
pub fn FormAlert(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let message = move || match error.get() {
        Some(AppError::Field { .. }) | None => None,
        Some(other) => Some(other.to_string()),
    };
    view! {
        <Show when=move || message().is_some()>
            <p role="alert" class="form-alert" data-testid="form-alert">{message}</p>
        </Show>
    }
}

/// A labelled input. Its error (from `error` when it names this field) shows below it,
/// linked with `aria-describedby` and marked `aria-invalid`.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(into, default = "text".into())] kind: String,
    #[prop(into, optional)] autocomplete: Option<String>,
    #[prop(into, optional)] hint: Option<String>,
    #[prop(into, optional)] value: Option<String>,
    #[prop(optional)] maxlength: Option<u32>,
    #[prop(optional)] minlength: Option<u32>,
    #[prop(optional)] required: bool,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let field_name = name.clone();
    let message = Signal::derive(move || error.get().and_then(|e| e.for_field(&field_name)));
    let has_hint = hint.is_some();
    let described_by = {
        let (hint_id, error_id) = (hint_id.clone(), error_id.clone());
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if message.get().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let error_line = {
        let name = name.clone();
        move || {
            message.get().map(|text| {
                view! { <p id=error_id.clone() class="field-error" data-field-error=name.clone()>{text}</p> }
            })
        }
    };
    view! {
        <div>
            <label for=id.clone() class="field-label">{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                value=value
                maxlength=maxlength
                minlength=minlength
                required=required
                class="field-input"
                aria-invalid=move || message.get().is_some().to_string()
                aria-describedby=described_by
            />
            {hint.map(|hint| view! { <p id=hint_id class="field-hint">{hint}</p> })}
            {error_line}
        </div>
    }
}

/// A submit button that says what is happening while the action runs.
#[component]
pub fn SubmitButton(
    #[prop(into)] label: String,
    #[prop(into)] busy_label: String,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into, default = "btn-primary w-full".into())] class: String,
) -> impl IntoView {
    view! {
        <button type="submit" class=class aria-busy=move || pending.get().to_string() disabled=move || pending.get()>
            {move || if pending.get() { busy_label.clone() } else { label.clone() }}
        </button>
    }
}
