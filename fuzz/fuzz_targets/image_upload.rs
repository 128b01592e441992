//! Avatar uploads: any file is decoded within its budget or refused with an error that is
//! the uploader's to fix (never a 500 or a panic); an image the budget accepts has the sides
//! it allows, and becomes a square WebP avatar that decodes again.
//! A small budget keeps each run cheap; `-rss_limit_mb` in scripts/fuzz enforces it.
#![no_main]

use app::platform::image_upload::{decode_within, process_avatar, DecodeBudget, UploadError, AVATAR_SIDE};
use image::ImageFormat;
use libfuzzer_sys::fuzz_target;

/// Far below the avatar's own limits (`AVATAR_BUDGET`), which accept everything this does.
const BUDGET: DecodeBudget = DecodeBudget {
    max_bytes: 48 * 1024,
    max_side: 1024,
    max_pixels: 512 * 1024,
    max_decode_bytes: 8 * 1024 * 1024,
};

fuzz_target!(|data: &[u8]| {
    let decoded = match decode_within(data, &BUDGET) {
        Ok(decoded) => decoded,
        Err(error) => {
            assert!(error.status().is_client_error(), "{error:?}");
            if data.is_empty() {
                assert_eq!(error, UploadError::Empty);
            } else if data.len() > BUDGET.max_bytes {
                assert_eq!(error, UploadError::TooManyBytes, "the size is checked first");
            }
            return;
        }
    };
    let (width, height) = (decoded.image.width(), decoded.image.height());
    assert!(width > 0 && height > 0);
    assert!(
        width <= BUDGET.max_side && height <= BUDGET.max_side,
        "{width} × {height}"
    );
    assert!(
        u64::from(width) * u64::from(height) <= BUDGET.max_pixels,
        "{width} × {height}"
    );
    // Freed before the second decode, so a run holds one image at a time.
    drop(decoded);

    let avatar = process_avatar(data).expect("what a smaller budget decodes, the avatar's takes");
    assert_eq!((avatar.width, avatar.height), (AVATAR_SIDE, AVATAR_SIDE));
    assert_eq!(avatar.content_type, "image/webp");
    let stored = image::load_from_memory_with_format(&avatar.bytes, ImageFormat::WebP).expect("the avatar decodes");
    assert_eq!((stored.width(), stored.height()), (AVATAR_SIDE, AVATAR_SIDE));
});
