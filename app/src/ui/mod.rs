//! Reusable components with no feature knowledge: page frame, theme toggle, status states,
//! the page-view beacon.

pub mod form;
pub mod layout;
pub mod meta;
pub mod page_view_beacon;
pub mod status;
pub mod theme;
