//! The variant pipeline: from one original, the sizes the site serves (thumb 400 px, small
//! 800 px, full 2000 px wide as lossy WebP, never upscaled), the original without its
//! metadata, a BlurHash placeholder and the dominant colour.
//!
//! Resizing uses `fast_image_resize` (SIMD convolution, several times faster than the
//! `image` crate's resize at the same filter; `scripts/bench` prints both). Each size is cut
//! from the next larger one, so the original is read once. Lossy WebP comes from libwebp
//! through the `webp` crate, because `image` only writes lossless WebP.
//!
//! Server-only and CPU-bound: call [`process`] from `spawn_blocking`.

use super::service::Variant;
use crate::platform::image_upload::{decode_within, DecodeBudget, Decoded, UploadError};
use fast_image_resize::{images::Image as ResizeImage, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{
    codecs::{jpeg::JpegEncoder, png::PngEncoder, webp::WebPEncoder},
    metadata::Orientation,
    DynamicImage, ImageFormat,
};
use std::fmt;

/// The served sizes, largest first, with their widths in pixels.
pub const SIZES: [(Variant, u32); 3] = [(Variant::Full, 2000), (Variant::Small, 800), (Variant::Thumb, 400)];
/// libwebp quality for the served sizes: visually clean on photos and renders, about a
/// third of a JPEG of the same look.
pub const WEBP_QUALITY: f32 = 80.0;
/// What an original may be: larger than an avatar, still refused from its header when it
/// claims more than a camera or an upscaler produces.
pub const ORIGINAL_BUDGET: DecodeBudget = DecodeBudget {
    max_bytes: 60 * 1024 * 1024,
    max_side: 16_384,
    max_pixels: 100_000_000,
    max_decode_bytes: 512 * 1024 * 1024,
};

/// One file the pipeline made, ready to store.
pub struct ProcessedFile {
    pub variant: Variant,
    pub bytes: Vec<u8>,
    /// File extension for the storage key (no dot).
    pub extension: &'static str,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

impl fmt::Debug for ProcessedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessedFile")
            .field("variant", &self.variant)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("content_type", &self.content_type)
            .field("size", &format_args!("{}×{}", self.width, self.height))
            .finish()
    }
}

/// Everything the library stores about an image's pixels.
#[derive(Debug)]
pub struct Processed {
    /// Upright size of the original.
    pub width: u32,
    pub height: u32,
    pub blurhash: String,
    /// `#rrggbb`.
    pub dominant_color: String,
    /// The three served sizes and the original.
    pub files: Vec<ProcessedFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{}", refusal_message(.0))]
    Refused(#[from] UploadError),
    #[error("could not resize: {0}")]
    Resize(String),
    #[error("could not encode: {0}")]
    Encode(String),
}

/// Why an original was refused, in words for whoever runs the import (the upload errors
/// speak of avatars and their limits).
fn refusal_message(refusal: &UploadError) -> String {
    let budget = ORIGINAL_BUDGET;
    match refusal {
        UploadError::Empty => "the file is empty".into(),
        UploadError::TooManyBytes => format!("the file is larger than {} MB", budget.max_bytes / (1024 * 1024)),
        UploadError::UnsupportedType => "Only JPEG, PNG and WebP images can be imported".into(),
        UploadError::TooManyPixels => format!(
            "the image is larger than {side} × {side} pixels or {mp} megapixels",
            side = budget.max_side,
            mp = budget.max_pixels / 1_000_000
        ),
        UploadError::Unreadable => "the file could not be read as a JPEG, PNG or WebP image; it may be damaged".into(),
        UploadError::Encoding(detail) => format!("could not decode: {detail}"),
    }
}

/// Makes every stored form of one original.
pub fn process(original: &[u8]) -> Result<Processed, PipelineError> {
    let Decoded {
        image,
        format,
        orientation,
    } = decode_within(original, &ORIGINAL_BUDGET)?;
    let upright_needed = orientation != Orientation::NoTransforms;
    let mut image = image;
    image.apply_orientation(orientation);
    // Served sizes are 8-bit; transparency is kept only where there is an alpha channel.
    let image = if image.color().has_alpha() {
        DynamicImage::ImageRgba8(image.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.into_rgb8())
    };
    let (width, height) = (image.width(), image.height());

    let mut files = Vec::with_capacity(SIZES.len() + 1);
    let mut resizer = Resizer::new();
    let mut source: Option<DynamicImage> = None;
    for (variant, target_width) in SIZES {
        let from = source.as_ref().unwrap_or(&image);
        let (w, h) = scaled(width, height, target_width);
        let sized = if (w, h) == (from.width(), from.height()) {
            from.clone()
        } else {
            resize(&mut resizer, from, w, h)?
        };
        files.push(ProcessedFile {
            variant,
            bytes: encode_webp(&sized)?,
            extension: "webp",
            content_type: "image/webp",
            width: w,
            height: h,
        });
        source = Some(sized);
    }
    let thumb = source.expect("SIZES is not empty");
    let blurhash = blurhash_of(&thumb)?;
    let dominant_color = dominant_color(&thumb);

    let (bytes, content_type, extension) = if upright_needed {
        // Dropping the EXIF block would turn the picture on its side; write it upright.
        reencode_upright(&image, format)?
    } else {
        let (content_type, extension) = content_type_of(format);
        (strip_metadata(original, format), content_type, extension)
    };
    files.push(ProcessedFile {
        variant: Variant::Original,
        bytes,
        extension,
        content_type,
        width,
        height,
    });
    Ok(Processed {
        width,
        height,
        blurhash,
        dominant_color,
        files,
    })
}

/// `target_width` wide with the same aspect ratio, or the original size if it is narrower.
pub fn scaled(width: u32, height: u32, target_width: u32) -> (u32, u32) {
    if width <= target_width {
        return (width, height);
    }
    let h = (u64::from(height) * u64::from(target_width) + u64::from(width) / 2) / u64::from(width);
    (target_width, (h as u32).max(1))
}

fn resize(resizer: &mut Resizer, from: &DynamicImage, width: u32, height: u32) -> Result<DynamicImage, PipelineError> {
    let failed = |error: &dyn fmt::Display| PipelineError::Resize(error.to_string());
    let (pixel_type, bytes) = match from {
        DynamicImage::ImageRgba8(rgba) => (PixelType::U8x4, rgba.as_raw().clone()),
        other => (PixelType::U8x3, other.to_rgb8().into_raw()),
    };
    let source = ResizeImage::from_vec_u8(from.width(), from.height(), bytes, pixel_type).map_err(|e| failed(&e))?;
    let mut target = ResizeImage::new(width, height, pixel_type);
    // Lanczos3 keeps fine detail sharp at these ratios; premultiplied alpha is handled by
    // the resizer for U8x4, so transparent edges do not darken.
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    resizer.resize(&source, &mut target, &options).map_err(|e| failed(&e))?;
    let buffer = target.into_vec();
    let image = match pixel_type {
        PixelType::U8x4 => image::RgbaImage::from_raw(width, height, buffer).map(DynamicImage::ImageRgba8),
        _ => image::RgbImage::from_raw(width, height, buffer).map(DynamicImage::ImageRgb8),
    };
    image.ok_or_else(|| PipelineError::Resize("the resized buffer has the wrong length".into()))
}

fn encode_webp(image: &DynamicImage) -> Result<Vec<u8>, PipelineError> {
    let encoder = match image {
        DynamicImage::ImageRgba8(rgba) => webp::Encoder::from_rgba(rgba.as_raw(), image.width(), image.height()),
        DynamicImage::ImageRgb8(rgb) => webp::Encoder::from_rgb(rgb.as_raw(), image.width(), image.height()),
        _ => return Err(PipelineError::Encode("only 8-bit RGB and RGBA are encoded".into())),
    };
    let encoded = encoder
        .encode_simple(false, WEBP_QUALITY)
        .map_err(|error| PipelineError::Encode(format!("libwebp: {error:?}")))?;
    Ok(encoded.to_vec())
}

fn blurhash_of(thumb: &DynamicImage) -> Result<String, PipelineError> {
    let rgba = thumb.to_rgba8();
    blurhash::encode(4, 3, thumb.width(), thumb.height(), rgba.as_raw())
        .map_err(|error| PipelineError::Encode(format!("blurhash: {error:?}")))
}

/// The most common colour, to 4 bits per channel, averaged over the pixels that have it:
/// a flat background wins over a busy subject, as the placeholder colour should.
pub fn dominant_color(image: &DynamicImage) -> String {
    let rgb = image.to_rgb8();
    let mut buckets = vec![(0u32, [0u64; 3]); 4096];
    for pixel in rgb.pixels() {
        let [r, g, b] = pixel.0;
        let index = (usize::from(r >> 4) << 8) | (usize::from(g >> 4) << 4) | usize::from(b >> 4);
        let bucket = &mut buckets[index];
        bucket.0 += 1;
        bucket.1[0] += u64::from(r);
        bucket.1[1] += u64::from(g);
        bucket.1[2] += u64::from(b);
    }
    let (count, sums) = buckets
        .iter()
        .max_by_key(|(count, _)| *count)
        .copied()
        .unwrap_or((0, [0; 3]));
    if count == 0 {
        return "#808080".to_owned();
    }
    let channel = |sum: u64| (sum / u64::from(count)) as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        channel(sums[0]),
        channel(sums[1]),
        channel(sums[2])
    )
}

fn content_type_of(format: ImageFormat) -> (&'static str, &'static str) {
    match format {
        ImageFormat::Png => ("image/png", "png"),
        ImageFormat::WebP => ("image/webp", "webp"),
        _ => ("image/jpeg", "jpg"),
    }
}

/// The original's bytes without EXIF (camera, GPS), XMP, IPTC, comments or text chunks —
/// the pixels are untouched. Colour profiles and the markers decoders need stay.
fn strip_metadata(original: &[u8], format: ImageFormat) -> Vec<u8> {
    use img_parts::{jpeg::Jpeg, png::Png, webp::WebP, Bytes, ImageEXIF};
    let bytes = Bytes::copy_from_slice(original);
    let stripped = match format {
        ImageFormat::Jpeg => Jpeg::from_bytes(bytes).ok().map(|mut jpeg| {
            use img_parts::jpeg::markers::{APP1, APP13, COM};
            // APP1 holds EXIF and XMP, APP13 IPTC; APP0 (JFIF), APP2 (ICC) and APP14
            // (Adobe colour transform) are needed to show the pixels right.
            jpeg.segments_mut()
                .retain(|segment| !matches!(segment.marker(), APP1 | APP13 | COM));
            jpeg.encoder().bytes()
        }),
        ImageFormat::Png => Png::from_bytes(bytes).ok().map(|mut png| {
            png.chunks_mut()
                .retain(|chunk| !matches!(&chunk.kind(), b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME"));
            png.encoder().bytes()
        }),
        ImageFormat::WebP => WebP::from_bytes(bytes).ok().map(|mut webp| {
            webp.set_exif(None);
            webp.remove_chunks_by_id(*b"XMP ");
            webp.encoder().bytes()
        }),
        _ => None,
    };
    // The decoder already read these bytes, so a parse failure here is not expected; keep
    // nothing rather than an unstripped file.
    stripped.map(|bytes| bytes.to_vec()).unwrap_or_default()
}

/// An original whose EXIF orientation had to be applied, written again in its own format.
fn reencode_upright(
    image: &DynamicImage,
    format: ImageFormat,
) -> Result<(Vec<u8>, &'static str, &'static str), PipelineError> {
    let failed = |error: image::ImageError| PipelineError::Encode(error.to_string());
    let mut bytes = Vec::new();
    let (content_type, extension) = content_type_of(format);
    match format {
        ImageFormat::Png => image.write_with_encoder(PngEncoder::new(&mut bytes)).map_err(failed)?,
        ImageFormat::WebP => image
            .write_with_encoder(WebPEncoder::new_lossless(&mut bytes))
            .map_err(failed)?,
        _ => DynamicImage::ImageRgb8(image.to_rgb8())
            .write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, 95))
            .map_err(failed)?,
    }
    Ok((bytes, content_type, extension))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};
    use std::io::Cursor;

    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
    }

    fn encoded(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn file(processed: &Processed, variant: Variant) -> &ProcessedFile {
        processed.files.iter().find(|f| f.variant == variant).unwrap()
    }

    #[test]
    fn sizes_keep_the_aspect_ratio_and_never_grow() {
        assert_eq!(scaled(3000, 2000, 2000), (2000, 1333));
        assert_eq!(scaled(3000, 2000, 400), (400, 267));
        assert_eq!(scaled(1500, 1000, 2000), (1500, 1000));
        assert_eq!(scaled(10_000, 1, 400), (400, 1));
    }

    #[test]
    fn a_large_original_gets_three_lossy_webp_sizes_and_itself() {
        let processed = process(&encoded(&gradient(2400, 1600), ImageFormat::Png)).unwrap();
        assert_eq!((processed.width, processed.height), (2400, 1600));
        for (variant, width, height) in [
            (Variant::Full, 2000, 1333),
            (Variant::Small, 800, 533),
            (Variant::Thumb, 400, 267),
        ] {
            let f = file(&processed, variant);
            assert_eq!((f.width, f.height), (width, height), "{variant:?}");
            assert!(
                f.bytes.starts_with(b"RIFF") && &f.bytes[8..16] == b"WEBPVP8 ",
                "lossy WebP"
            );
            let decoded = image::load_from_memory(&f.bytes).unwrap();
            assert_eq!((decoded.width(), decoded.height()), (width, height));
        }
        let original = file(&processed, Variant::Original);
        assert_eq!(original.content_type, "image/png");
        assert_eq!((original.width, original.height), (2400, 1600));
        assert_eq!(processed.blurhash.len(), 4 + 2 * 4 * 3);
        assert!(processed.dominant_color.starts_with('#') && processed.dominant_color.len() == 7);
    }

    #[test]
    fn a_small_original_is_never_upscaled() {
        let processed = process(&encoded(&gradient(600, 300), ImageFormat::Jpeg)).unwrap();
        assert_eq!(
            [Variant::Full, Variant::Small, Variant::Thumb].map(|v| file(&processed, v).width),
            [600, 600, 400]
        );
        assert_eq!(file(&processed, Variant::Full).height, 300);
    }

    #[test]
    fn the_dominant_colour_is_the_largest_flat_area() {
        let mut image = RgbImage::from_pixel(100, 100, Rgb([20, 40, 200]));
        for x in 0..30 {
            for y in 0..100 {
                image.put_pixel(x, y, Rgb([250, 250, 250]));
            }
        }
        assert_eq!(dominant_color(&DynamicImage::ImageRgb8(image)), "#1428c8");
    }

    #[test]
    fn text_is_not_an_original() {
        assert!(matches!(
            process(b"not an image at all"),
            Err(PipelineError::Refused(UploadError::UnsupportedType))
        ));
    }
}
