//! The background job handlers this server runs. Each feature adds its handler here; the
//! queue, retries and workers live in `app::platform::jobs`.

use app::platform::jobs::JobRegistry;

/// Every handler the production server registers.
pub fn registry() -> JobRegistry {
    JobRegistry::new()
}
