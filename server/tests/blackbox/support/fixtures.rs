//! Image files for tests: real JPEG/PNG encodings, and the same carrying EXIF with GPS
//! text, as a phone would write them.

use image::{ImageFormat, Rgb, RgbImage};
use std::io::Cursor;

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut covered = kind.to_vec();
    covered.extend_from_slice(data);
    out.extend_from_slice(&crc32(&covered).to_be_bytes());
    out
}

/// EXIF as a phone writes it, reduced to an orientation entry and GPS text.
pub fn exif_tiff() -> Vec<u8> {
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(b"GPSLatitude 51.5074 N GPSLongitude 0.1278 W");
    tiff
}

pub fn photo(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A real PNG with an eXIf chunk carrying GPS text.
pub fn png_with_exif() -> Vec<u8> {
    let png = photo(640, 480, ImageFormat::Png);
    let mut tagged = png[..33].to_vec(); // signature + IHDR
    tagged.extend(png_chunk(b"eXIf", &exif_tiff()));
    tagged.extend_from_slice(&png[33..]);
    assert!(contains(&tagged, b"GPSLatitude"));
    tagged
}

/// A real JPEG with an APP1 Exif segment carrying GPS text.
pub fn jpeg_with_exif() -> Vec<u8> {
    let jpeg = photo(500, 700, ImageFormat::Jpeg);
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(exif_tiff());
    let mut tagged = jpeg[..2].to_vec();
    tagged.extend_from_slice(&[0xFF, 0xE1]);
    tagged.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    tagged.extend(app1);
    tagged.extend_from_slice(&jpeg[2..]);
    assert!(contains(&tagged, b"GPSLatitude"));
    tagged
}
