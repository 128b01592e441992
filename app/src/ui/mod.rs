//! Reusable components with no feature knowledge: page frame, theme toggle, status states.

pub mod form;
pub mod layout;
pub mod meta;
pub mod status;
pub mod theme;
