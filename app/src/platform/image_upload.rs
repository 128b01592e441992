//! Turns an uploaded avatar into a small square WebP that carries nothing but pixels.
//!
//! The steps, in the order that keeps a hostile file cheap to refuse:
//! 1. the byte count is checked (the route also stops reading at [`MAX_UPLOAD_BYTES`]);
//! 2. the type is sniffed from the magic bytes — the file name and the browser's
//!    `Content-Type` are never believed — and only JPEG, PNG and WebP go on;
//! 3. the decoder reads the header only, and the claimed size is checked against
//!    [`MAX_SIDE`] and [`MAX_PIXELS`] before a single pixel is decoded, so a
//!    decompression bomb (a tiny file that claims a huge canvas) costs nothing;
//! 4. pixels are decoded under `image::Limits` (width, height and an allocation budget);
//! 5. the centre square is cut out, scaled to [`AVATAR_SIDE`] and turned upright
//!    following the EXIF orientation;
//! 6. the pixels are encoded afresh as lossless WebP.
//!
//! Why nothing survives: `image` decodes into a `DynamicImage`, which holds pixels only.
//! Its decoders can *report* EXIF, XMP, IPTC and ICC data, but only when asked, and its
//! encoders write them only when `set_exif_metadata`/`set_icc_profile` is called, which this
//! module never does. The WebP written here is a bare `RIFF…WEBPVP8L` stream.
//!
//! Why lossless WebP rather than PNG: `image` 0.25 can only write lossless WebP (lossy needs
//! libwebp), and lossless WebP is markedly smaller than PNG for the same pixels, keeps
//! transparency, and every browser we support shows it. A 256 × 256 avatar stays small either
//! way; if the CDN or mail clients ever need PNG, only [`encode`] changes.
//!
//! Server-only: called from `spawn_blocking`, because decoding and resizing are CPU work.

use axum::http::StatusCode;
use image::{
    codecs::webp::WebPEncoder, imageops::FilterType, metadata::Orientation, DynamicImage, ImageDecoder, ImageError,
    ImageFormat, ImageReader, Limits,
};
use std::{fmt, io::Cursor};

/// The largest file accepted, in bytes.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
/// The longest side an upload may claim, in pixels.
pub const MAX_SIDE: u32 = 8_000;
/// The most pixels an upload may claim (40 megapixels).
pub const MAX_PIXELS: u64 = 40_000_000;
/// What decoding one upload may allocate. A 40 MP RGBA image needs 160 MB, so this leaves
/// room for 8-bit images at the pixel limit and refuses 16-bit ones that big.
pub const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// Width and height of the stored avatar.
pub const AVATAR_SIDE: u32 = 256;

/// An avatar ready to store: encoded bytes and what to call them.
pub struct ProcessedImage {
    pub bytes: Vec<u8>,
    /// File extension for the media key (no dot).
    pub extension: &'static str,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

impl fmt::Debug for ProcessedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessedImage")
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("content_type", &self.content_type)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Why an upload was refused. Every message is safe to show to the person who uploaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("Choose an image file to upload.")]
    Empty,
    #[error("That file is larger than {mb} MB. Choose a smaller image.", mb = MAX_UPLOAD_BYTES / (1024 * 1024))]
    TooManyBytes,
    #[error("Only JPEG, PNG and WebP images can be used as an avatar.")]
    UnsupportedType,
    #[error(
        "That image is too large: at most {MAX_SIDE} × {MAX_SIDE} pixels and {mp} megapixels.",
        mp = MAX_PIXELS / 1_000_000
    )]
    TooManyPixels,
    #[error("That file could not be read as a JPEG, PNG or WebP image. It may be damaged.")]
    Unreadable,
    /// Our own failure to encode; the detail is for the log, never for the page.
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Encoding(String),
}

impl UploadError {
    /// The HTTP status a refusal answers with (413 too big, 415 not an allowed image).
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::Empty | UploadError::TooManyPixels => StatusCode::BAD_REQUEST,
            UploadError::TooManyBytes => StatusCode::PAYLOAD_TOO_LARGE,
            UploadError::UnsupportedType | UploadError::Unreadable => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UploadError::Encoding(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable short code for URLs (`/account?avatar_error=<code>`) and JSON bodies.
    pub fn code(&self) -> &'static str {
        match self {
            UploadError::Empty => "missing",
            UploadError::TooManyBytes => "too_large",
            UploadError::UnsupportedType => "unsupported",
            UploadError::TooManyPixels => "dimensions",
            UploadError::Unreadable => "unreadable",
            UploadError::Encoding(_) => "failed",
        }
    }
}

/// How much one decode may claim and allocate. Checked from the header before any pixel
/// is decoded, so a decompression bomb is refused at the cost of reading a few bytes.
#[derive(Clone, Copy, Debug)]
pub struct DecodeBudget {
    pub max_bytes: usize,
    pub max_side: u32,
    pub max_pixels: u64,
    pub max_decode_bytes: u64,
}

/// What avatars may be.
pub const AVATAR_BUDGET: DecodeBudget = DecodeBudget {
    max_bytes: MAX_UPLOAD_BYTES,
    max_side: MAX_SIDE,
    max_pixels: MAX_PIXELS,
    max_decode_bytes: MAX_DECODE_BYTES,
};

/// A decoded image: pixels only, plus the two facts about the file that matter later.
pub struct Decoded {
    pub image: DynamicImage,
    pub format: ImageFormat,
    /// From the EXIF block, not yet applied to `image`.
    pub orientation: Orientation,
}

/// Checks the size, sniffs the type and decodes within `budget` (steps 1–4 above).
pub fn decode_within(bytes: &[u8], budget: &DecodeBudget) -> Result<Decoded, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.len() > budget.max_bytes {
        return Err(UploadError::TooManyBytes);
    }
    let format = sniff(bytes)?;

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decode_limits(budget));
    // Building the decoder parses the header only; the PNG decoder and `set_limits` already
    // refuse a side above the budget here.
    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, budget)?;
    if decoder.total_bytes() > budget.max_decode_bytes {
        return Err(UploadError::TooManyPixels);
    }
    // Read now, applied by the caller; the EXIF block itself goes no further.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(classify)?;
    Ok(Decoded {
        image,
        format,
        orientation,
    })
}

/// Checks, decodes, squares, resizes and re-encodes an uploaded avatar. CPU-bound: call it
/// from `tokio::task::spawn_blocking`.
pub fn process_avatar(bytes: &[u8]) -> Result<ProcessedImage, UploadError> {
    let Decoded {
        image: decoded,
        orientation,
        ..
    } = decode_within(bytes, &AVATAR_BUDGET)?;
    let mut avatar = square(&decoded, AVATAR_SIDE);
    drop(decoded);
    // Cutting the centre square commutes with rotating and flipping, so turning the small
    // result is the same as turning the original, at a fraction of the memory.
    avatar.apply_orientation(orientation);
    encode(&avatar)
}

/// The format from the file's first bytes, if it is one we take.
fn sniff(bytes: &[u8]) -> Result<ImageFormat, UploadError> {
    match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => Ok(format),
        _ => Err(UploadError::UnsupportedType),
    }
}

fn decode_limits(budget: &DecodeBudget) -> Limits {
    // `Limits` is non-exhaustive: start from a value and set the fields.
    let mut limits = Limits::no_limits();
    limits.max_image_width = Some(budget.max_side);
    limits.max_image_height = Some(budget.max_side);
    limits.max_alloc = Some(budget.max_decode_bytes);
    limits
}

fn check_dimensions(width: u32, height: u32, budget: &DecodeBudget) -> Result<(), UploadError> {
    if width == 0 || height == 0 {
        return Err(UploadError::Unreadable);
    }
    if width > budget.max_side || height > budget.max_side || u64::from(width) * u64::from(height) > budget.max_pixels {
        return Err(UploadError::TooManyPixels);
    }
    Ok(())
}

fn classify(error: ImageError) -> UploadError {
    match error {
        ImageError::Limits(_) => UploadError::TooManyPixels,
        ImageError::Encoding(error) => UploadError::Encoding(error.to_string()),
        // Truncated files (I/O errors on the in-memory reader), corrupt data, and variants of an
        // allowed format that `image` cannot read.
        ImageError::Decoding(_) | ImageError::IoError(_) | ImageError::Unsupported(_) | ImageError::Parameter(_) => {
            UploadError::Unreadable
        }
    }
}

/// The centre square of `image`, scaled to `side` × `side`.
///
/// Very large images are first box-filtered (`thumbnail`, one cheap pass) so that their short
/// side is twice the target; Lanczos over a 40 MP original would take seconds. The square is
/// cut before the final resize, so a long thin image (8000 × 1) is never stretched into a huge
/// intermediate buffer.
fn square(image: &DynamicImage, side: u32) -> DynamicImage {
    let (width, height) = (image.width(), image.height());
    let short = width.min(height);
    let working = 2 * side;
    let shrunk;
    let source = if short > 2 * working {
        let scale = |length: u32| {
            (u64::from(length) * u64::from(working))
                .div_ceil(u64::from(short))
                .max(1) as u32
        };
        shrunk = image.thumbnail_exact(scale(width), scale(height));
        &shrunk
    } else {
        image
    };
    let (width, height) = (source.width(), source.height());
    let short = width.min(height);
    source
        .crop_imm((width - short) / 2, (height - short) / 2, short, short)
        .resize_exact(side, side, FilterType::Lanczos3)
}

fn encode(image: &DynamicImage) -> Result<ProcessedImage, UploadError> {
    let mut bytes = Vec::new();
    image
        .write_with_encoder(WebPEncoder::new_lossless(&mut bytes))
        .map_err(|error| UploadError::Encoding(error.to_string()))?;
    Ok(ProcessedImage {
        bytes,
        extension: "webp",
        content_type: "image/webp",
        width: image.width(),
        height: image.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};
    use std::time::{Duration, Instant};

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|window| window == needle)
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            }
        }
        !crc
    }

    /// One PNG chunk: length, type, data, CRC over type and data.
    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut covered = kind.to_vec();
        covered.extend_from_slice(data);
        out.extend_from_slice(&crc32(&covered).to_be_bytes());
        out
    }

    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

    /// A PNG that is a header and nothing else: it claims `width` × `height` RGBA pixels.
    fn png_header_only(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8 bits, RGBA, deflate, no filter, no interlace
        let mut png = PNG_SIGNATURE.to_vec();
        png.extend(chunk(b"IHDR", &ihdr));
        // An empty zlib stream: enough for the decoder to reach the first IDAT.
        png.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
        png.extend(chunk(b"IEND", &[]));
        png
    }

    /// A TIFF block as EXIF carries it: big-endian, one IFD with an Orientation entry, then
    /// text standing in for the GPS block a phone would write.
    fn exif_tiff(orientation: u16) -> Vec<u8> {
        let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
        tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
        tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01]); // Orientation, SHORT, 1
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0]);
        tiff.extend_from_slice(&[0, 0, 0, 0]); // no next IFD
        tiff.extend_from_slice(b"GPSLatitude 51.5074 N GPSLongitude 0.1278 W");
        tiff
    }

    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 128]))
    }

    fn encoded(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn assert_clean_avatar(processed: &ProcessedImage) {
        assert_eq!((processed.width, processed.height), (AVATAR_SIDE, AVATAR_SIDE));
        assert_eq!(processed.extension, "webp");
        assert!(processed.bytes.starts_with(b"RIFF"));
        assert!(
            contains(&processed.bytes, b"WEBPVP8L"),
            "a plain lossless WebP, no VP8X extras"
        );
        for marker in [&b"Exif"[..], b"EXIF", b"eXIf", b"GPSLatitude", b"ICCP", b"XMP "] {
            assert!(
                !contains(&processed.bytes, marker),
                "{}",
                String::from_utf8_lossy(marker)
            );
        }
        let decoded = image::load_from_memory(&processed.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (AVATAR_SIDE, AVATAR_SIDE));
    }

    #[test]
    fn a_png_with_an_exif_chunk_comes_out_square_and_without_it() {
        let png = encoded(&gradient(600, 400), ImageFormat::Png);
        // eXIf goes right after IHDR (signature 8 bytes + IHDR chunk 25 bytes).
        let mut tagged = png[..33].to_vec();
        tagged.extend(chunk(b"eXIf", &exif_tiff(1)));
        tagged.extend_from_slice(&png[33..]);
        assert!(contains(&tagged, b"GPSLatitude"));
        assert_clean_avatar(&process_avatar(&tagged).unwrap());
    }

    #[test]
    fn a_jpeg_with_exif_gps_is_stripped_and_turned_upright() {
        // Left half red, right half blue, with EXIF orientation 6 ("rotate 90° clockwise").
        let image = RgbImage::from_fn(400, 200, |x, _| {
            if x < 200 {
                Rgb([230, 20, 20])
            } else {
                Rgb([20, 20, 230])
            }
        });
        let jpeg = encoded(&image, ImageFormat::Jpeg);
        let mut app1 = b"Exif\x00\x00".to_vec();
        app1.extend(exif_tiff(6));
        let mut tagged = jpeg[..2].to_vec(); // SOI
        tagged.extend_from_slice(&[0xFF, 0xE1]);
        tagged.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        tagged.extend(app1);
        tagged.extend_from_slice(&jpeg[2..]);
        assert!(contains(&tagged, b"GPSLatitude"));

        let processed = process_avatar(&tagged).unwrap();
        assert_clean_avatar(&processed);
        let pixels = image::load_from_memory(&processed.bytes).unwrap().to_rgb8();
        let top = pixels.get_pixel(AVATAR_SIDE / 2, 10);
        let bottom = pixels.get_pixel(AVATAR_SIDE / 2, AVATAR_SIDE - 10);
        assert!(top[0] > top[2], "the left (red) half is now on top: {top:?}");
        assert!(
            bottom[2] > bottom[0],
            "the right (blue) half is now at the bottom: {bottom:?}"
        );
    }

    #[test]
    fn webp_uploads_are_accepted_and_tiny_images_are_scaled_up() {
        let webp = encoded(&gradient(40, 90), ImageFormat::WebP);
        assert_clean_avatar(&process_avatar(&webp).unwrap());
        let dot = encoded(&gradient(1, 1), ImageFormat::Png);
        assert_clean_avatar(&process_avatar(&dot).unwrap());
    }

    #[test]
    fn long_thin_images_do_not_blow_up_the_resize() {
        let strip = encoded(&gradient(8000, 1), ImageFormat::Png);
        assert_clean_avatar(&process_avatar(&strip).unwrap());
    }

    #[test]
    fn the_type_comes_from_the_bytes_and_only_three_types_pass() {
        assert_eq!(
            process_avatar(b"hello, I am a text file").err(),
            Some(UploadError::UnsupportedType)
        );
        assert_eq!(
            process_avatar(b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>").err(),
            Some(UploadError::UnsupportedType)
        );
        assert_eq!(
            process_avatar(b"GIF89a\x01\x00\x01\x00").err(),
            Some(UploadError::UnsupportedType)
        );
        assert_eq!(
            process_avatar(b"BM not a bitmap").err(),
            Some(UploadError::UnsupportedType)
        );
        assert_eq!(process_avatar(b"").err(), Some(UploadError::Empty));
        assert_eq!(
            UploadError::UnsupportedType.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn a_truncated_image_of_an_allowed_type_is_unreadable() {
        let png = encoded(&gradient(64, 64), ImageFormat::Png);
        assert_eq!(
            process_avatar(&png[..png.len() / 2]).err(),
            Some(UploadError::Unreadable)
        );
        assert_eq!(process_avatar(PNG_SIGNATURE).err(), Some(UploadError::Unreadable));
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header_at_once() {
        let started = Instant::now();
        let bomb = png_header_only(100_000, 100_000);
        assert!(bomb.len() < 100, "the whole file is {} bytes", bomb.len());
        assert_eq!(process_avatar(&bomb).err(), Some(UploadError::TooManyPixels));
        // Within each side's limit but 64 megapixels in all.
        assert_eq!(
            process_avatar(&png_header_only(7_999, 7_999)).err(),
            Some(UploadError::TooManyPixels)
        );
        // Decoding 100 000² RGBA pixels would need 40 GB; refusing takes no time at all.
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[test]
    fn oversized_files_are_refused_before_sniffing() {
        let mut big = PNG_SIGNATURE.to_vec();
        big.resize(MAX_UPLOAD_BYTES + 1, 0);
        assert_eq!(process_avatar(&big).err(), Some(UploadError::TooManyBytes));
        assert_eq!(UploadError::TooManyBytes.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn messages_state_the_limits_and_hide_internals() {
        assert_eq!(
            UploadError::TooManyBytes.to_string(),
            "That file is larger than 5 MB. Choose a smaller image."
        );
        assert!(UploadError::TooManyPixels
            .to_string()
            .contains("8000 × 8000 pixels and 40 megapixels"));
        assert!(!UploadError::Encoding("zlib: stream error".into())
            .to_string()
            .contains("zlib"));
    }
}
