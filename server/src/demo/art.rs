//! Procedural artworks for the demo library: twelve styles built from noise fields,
//! geometry and palettes. Deterministic: the same style, palette and seed give the same
//! pixels on every machine.

use image::{Rgb, RgbImage};
use std::f32::consts::PI;

pub type Color = [f32; 3];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtStyle {
    Aurora,
    Contours,
    Geometric,
    Ridges,
    Marble,
    Cells,
    Nebula,
    Waves,
    Sunset,
    Stripes,
    Dunes,
    Blobs,
}

/// Parses `#rrggbb` into linear-ish 0..1 channels (palettes are written as hex).
pub fn hex(color: &str) -> Color {
    let value = u32::from_str_radix(color.trim_start_matches('#'), 16).unwrap_or(0x808080);
    [
        ((value >> 16) & 0xff) as f32 / 255.0,
        ((value >> 8) & 0xff) as f32 / 255.0,
        (value & 0xff) as f32 / 255.0,
    ]
}

fn mix(a: Color, b: Color, t: f32) -> Color {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn scale(c: Color, k: f32) -> Color {
    [c[0] * k, c[1] * k, c[2] * k]
}

fn add(a: Color, b: Color) -> Color {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Samples a palette as a smooth gradient, `t` in 0..1.
fn gradient(palette: &[Color], t: f32) -> Color {
    let t = t.clamp(0.0, 0.9999) * (palette.len() - 1) as f32;
    let i = t.floor() as usize;
    mix(palette[i], palette[(i + 1).min(palette.len() - 1)], t - i as f32)
}

/// A 32-bit integer hash of a lattice point (good enough for visual noise).
fn hash(seed: u32, x: i32, y: i32) -> u32 {
    let mut h = seed ^ (x as u32).wrapping_mul(0x27d4_eb2d) ^ (y as u32).wrapping_mul(0x1656_67b1);
    h = (h ^ (h >> 15)).wrapping_mul(0x85eb_ca6b);
    h = (h ^ (h >> 13)).wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

fn unit(seed: u32, x: i32, y: i32) -> f32 {
    hash(seed, x, y) as f32 / u32::MAX as f32
}

/// Value noise with quintic smoothing, 0..1.
fn noise(seed: u32, x: f32, y: f32) -> f32 {
    let (xi, yi) = (x.floor() as i32, y.floor() as i32);
    let (xf, yf) = (x - xi as f32, y - yi as f32);
    let fade = |t: f32| t * t * t * (t * (t * 6.0 - 15.0) + 10.0);
    let (u, v) = (fade(xf), fade(yf));
    let a = unit(seed, xi, yi);
    let b = unit(seed, xi + 1, yi);
    let c = unit(seed, xi, yi + 1);
    let d = unit(seed, xi + 1, yi + 1);
    let top = a + (b - a) * u;
    let bottom = c + (d - c) * u;
    top + (bottom - top) * v
}

/// Fractal sum of `octaves` noise layers, normalised to 0..1.
fn fbm(seed: u32, x: f32, y: f32, octaves: u32) -> f32 {
    let (mut sum, mut amplitude, mut frequency, mut norm) = (0.0, 1.0, 1.0, 0.0);
    for octave in 0..octaves {
        sum += amplitude * noise(seed.wrapping_add(octave * 1013), x * frequency, y * frequency);
        norm += amplitude;
        amplitude *= 0.5;
        frequency *= 2.03;
    }
    sum / norm
}

/// Parameters drawn once per artwork from its seed.
struct Scene {
    seed: u32,
    aspect: f32,
    palette: Vec<Color>,
    params: [f32; 8],
    points: Vec<([f32; 2], f32, Color)>,
}

fn scene(palette: &[Color], seed: u64, width: u32, height: u32, points: usize) -> Scene {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut params = [0.0; 8];
    for p in &mut params {
        *p = rng.f32();
    }
    let aspect = width as f32 / height as f32;
    let points = (0..points)
        .map(|_| {
            let color = palette[rng.usize(..palette.len())];
            ([rng.f32() * aspect, rng.f32()], rng.f32(), color)
        })
        .collect();
    Scene {
        seed: rng.u32(..),
        aspect,
        palette: palette.to_vec(),
        params,
        points,
    }
}

/// Renders one artwork. `palette` needs at least three colours, darkest first.
pub fn render(style: ArtStyle, palette: &[Color], seed: u64, width: u32, height: u32) -> RgbImage {
    let point_count = match style {
        ArtStyle::Cells => 26 + (seed % 30) as usize,
        ArtStyle::Geometric => 7 + (seed % 5) as usize,
        ArtStyle::Waves => 3 + (seed % 3) as usize,
        ArtStyle::Blobs => 5 + (seed % 4) as usize,
        _ => 0,
    };
    let s = scene(palette, seed, width, height, point_count);
    let mut image = RgbImage::new(width, height);
    let inv_h = 1.0 / height as f32;
    for (x, y, pixel) in image.enumerate_pixels_mut() {
        // Coordinates: v runs 0..1 top to bottom, u runs 0..aspect.
        let (u, v) = ((x as f32 + 0.5) * inv_h, (y as f32 + 0.5) * inv_h);
        let mut c = match style {
            ArtStyle::Aurora => aurora(&s, u, v),
            ArtStyle::Contours => contours(&s, u, v),
            ArtStyle::Geometric => geometric(&s, u, v, inv_h),
            ArtStyle::Ridges => ridges(&s, u, v, false),
            ArtStyle::Dunes => ridges(&s, u, v, true),
            ArtStyle::Marble => marble(&s, u, v),
            ArtStyle::Cells => cells(&s, u, v),
            ArtStyle::Nebula => nebula(&s, u, v, x, y),
            ArtStyle::Waves => waves(&s, u, v),
            ArtStyle::Sunset => sunset(&s, u, v),
            ArtStyle::Stripes => stripes(&s, u, v, inv_h),
            ArtStyle::Blobs => blobs(&s, u, v),
        };
        // Film grain and a soft vignette keep large areas from looking flat.
        let grain = (unit(s.seed ^ 0x9e37, x as i32, y as i32) - 0.5) * 0.035;
        let (dx, dy) = (u / s.aspect - 0.5, v - 0.5);
        let vignette = 1.0 - 0.28 * smoothstep(0.35, 0.95, (dx * dx + dy * dy).sqrt() * 1.35);
        c = scale(c, vignette);
        *pixel = Rgb([to_byte(c[0] + grain), to_byte(c[1] + grain), to_byte(c[2] + grain)]);
    }
    image
}

fn to_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

fn aurora(s: &Scene, u: f32, v: f32) -> Color {
    let sky = mix(s.palette[0], s.palette[1], v * v);
    let mut c = sky;
    for band in 0..3u32 {
        let b = band as f32;
        // The curtain's lower hem wanders across the sky; light rises from it and fades.
        let hem = 0.42 + 0.14 * b + 0.3 * (fbm(s.seed + band, u * 0.9 + s.params[0] * 9.0, b * 3.1, 3) - 0.5);
        let rays = 0.35 + 0.65 * noise(s.seed + 40 + band, u * 22.0 + b * 5.0, v * 0.6).powi(2);
        let above = hem - v;
        let glow = if above >= 0.0 {
            (-above / (0.08 + 0.1 * s.params[1 + band as usize])).exp()
        } else {
            (above / 0.012).exp()
        };
        let hue = gradient(&s.palette[2..], (u / s.aspect * 0.8 + b * 0.27 + s.params[4]).fract());
        c = add(c, scale(hue, glow * rays * (0.6 - 0.1 * b)));
    }
    let star = unit(s.seed ^ 0x51a7, (u * 900.0) as i32, (v * 900.0) as i32);
    if star > 0.9965 && v < 0.7 {
        c = add(c, [0.45, 0.45, 0.5]);
    }
    c
}

fn contours(s: &Scene, u: f32, v: f32) -> Color {
    let zoom = 1.2 + s.params[0] * 1.3;
    let f = fbm(s.seed, u * zoom + s.params[1] * 50.0, v * zoom, 4);
    let base = gradient(&s.palette[1..], smoothstep(0.25, 0.75, f));
    let levels = 10.0 + s.params[2] * 8.0;
    let line = (f * levels).fract();
    let distance = line.min(1.0 - line);
    let major = ((f * levels).floor() as i32) % 5 == 0;
    let strength = 1.0 - smoothstep(0.0, if major { 0.09 } else { 0.05 }, distance);
    mix(base, s.palette[0], strength * if major { 0.85 } else { 0.55 })
}

fn geometric(s: &Scene, u: f32, v: f32, pixel: f32) -> Color {
    let paper = mix(s.palette[s.palette.len() - 1], [0.96, 0.94, 0.9], 0.6);
    let mut c = mix(paper, scale(paper, 0.94), noise(s.seed, u * 40.0, v * 40.0));
    for (i, (centre, size, color)) in s.points.iter().enumerate() {
        let (dx, dy) = (u - centre[0], v - centre[1]);
        let radius = 0.08 + size * 0.26;
        // Alternate circles, squares, half discs and rings; each edge anti-aliased over a pixel.
        let signed = match i % 4 {
            0 => (dx * dx + dy * dy).sqrt() - radius,
            1 => dx.abs().max(dy.abs()) - radius * 0.8,
            2 => {
                let disc = (dx * dx + dy * dy).sqrt() - radius;
                disc.max(if s.params[i % 8] > 0.5 { dy } else { -dx })
            }
            _ => ((dx * dx + dy * dy).sqrt() - radius).abs() - radius * 0.12,
        };
        let coverage = 1.0 - smoothstep(-pixel, pixel, signed);
        c = mix(c, *color, coverage * 0.94);
    }
    c
}

fn ridges(s: &Scene, u: f32, v: f32, smooth: bool) -> Color {
    let layers = 5;
    let sky = gradient(
        &[s.palette[s.palette.len() - 1], s.palette[s.palette.len() - 2]],
        v * 1.4,
    );
    let sun_centre = [s.aspect * (0.2 + 0.6 * s.params[0]), 0.22 + 0.12 * s.params[1]];
    let sun_distance = ((u - sun_centre[0]).powi(2) + (v - sun_centre[1]).powi(2)).sqrt();
    let mut c = add(sky, scale([1.0, 0.92, 0.8], 0.35 * (-sun_distance * 6.0).exp()));
    c = mix(c, [1.0, 0.97, 0.9], 1.0 - smoothstep(0.045, 0.05, sun_distance));
    for layer in 0..layers {
        let depth = layer as f32 / (layers - 1) as f32; // 0 = far, 1 = near
        let base = 0.38 + depth * 0.42;
        let amplitude = 0.16 - depth * 0.05;
        let x = u * (1.2 + depth * 1.5) + layer as f32 * 7.1 + s.params[2] * 30.0;
        let shape = if smooth {
            0.5 + 0.35 * (x * 2.1).sin() * 0.5 + 0.3 * (fbm(s.seed + layer, x * 0.7, 0.5, 3) - 0.5)
        } else {
            let ridged = 1.0 - (2.0 * fbm(s.seed + layer, x, 1.7, 5) - 1.0).abs();
            ridged * ridged
        };
        let top = base - amplitude * shape;
        if v >= top {
            let haze = 1.0 - depth;
            let body = gradient(&s.palette[..s.palette.len() - 1], 0.85 - depth * 0.85);
            let shade = if smooth {
                1.0 + 0.18 * (1.0 - smoothstep(0.0, 0.08, v - top))
            } else {
                1.0
            };
            c = mix(scale(body, shade), sky, haze * 0.55);
        }
    }
    c
}

fn marble(s: &Scene, u: f32, v: f32) -> Color {
    let turbulence = 3.0 + s.params[0] * 4.0;
    let angle = s.params[1] * PI;
    let along = u * angle.cos() + v * angle.sin();
    let t =
        0.5 + 0.5 * ((along * (3.0 + s.params[2] * 4.0) + turbulence * fbm(s.seed, u * 2.5, v * 2.5, 5)) * PI).sin();
    let vein = smoothstep(0.93, 1.0, t) * 0.7;
    let base = gradient(&s.palette[1..], t.powf(1.6));
    mix(base, s.palette[0], vein)
}

fn cells(s: &Scene, u: f32, v: f32) -> Color {
    let (mut first, mut second, mut colour) = (f32::MAX, f32::MAX, s.palette[0]);
    for (point, _, color) in &s.points {
        let d = (u - point[0]).powi(2) + (v - point[1]).powi(2);
        if d < first {
            second = first;
            first = d;
            colour = *color;
        } else if d < second {
            second = d;
        }
    }
    let edge = second.sqrt() - first.sqrt();
    let lead = smoothstep(0.004, 0.012, edge);
    let glow = 0.85 + 0.25 * (1.0 - first.sqrt() * 4.0).max(0.0);
    mix([0.06, 0.05, 0.07], scale(colour, glow), lead)
}

fn nebula(s: &Scene, u: f32, v: f32, x: u32, y: u32) -> Color {
    let warp = fbm(s.seed, u * 1.5, v * 1.5, 4);
    let density = fbm(s.seed + 7, u * 2.2 + warp * 2.5, v * 2.2 - warp * 1.5, 6);
    let cloud = smoothstep(0.35, 0.85, density);
    let mut c = mix(s.palette[0], gradient(&s.palette[1..], warp), cloud);
    c = add(
        c,
        scale(s.palette[s.palette.len() - 1], smoothstep(0.7, 0.95, density) * 0.5),
    );
    let star = unit(s.seed ^ 0x5eed, x as i32, y as i32);
    if star > 0.9975 {
        let brightness = (star - 0.9975) * 400.0;
        c = add(c, [brightness, brightness, brightness * 1.05]);
    }
    c
}

fn waves(s: &Scene, u: f32, v: f32) -> Color {
    let frequency = 40.0 + s.params[0] * 50.0;
    let mut sum = 0.0;
    for (point, phase, _) in &s.points {
        let d = ((u - point[0]).powi(2) + (v - point[1]).powi(2)).sqrt();
        sum += (d * frequency + phase * 2.0 * PI).sin();
    }
    let t = 0.5 + 0.5 * sum / s.points.len().max(1) as f32;
    gradient(&s.palette, smoothstep(0.05, 0.95, t))
}

fn sunset(s: &Scene, u: f32, v: f32) -> Color {
    let horizon = 0.58 + 0.1 * s.params[0];
    let sun = [s.aspect * (0.3 + 0.4 * s.params[1]), horizon - 0.08 - 0.1 * s.params[2]];
    let sky_at = |vv: f32| -> Color {
        let t = (vv / horizon).clamp(0.0, 1.0);
        gradient(&s.palette, t)
    };
    if v < horizon {
        let d = ((u - sun[0]).powi(2) + (v - sun[1]).powi(2)).sqrt();
        let mut c = add(sky_at(v), scale([1.0, 0.8, 0.55], 0.4 * (-d * 5.0).exp()));
        c = mix(c, [1.0, 0.93, 0.78], 1.0 - smoothstep(0.07, 0.075, d));
        let cloud = smoothstep(0.55, 0.8, fbm(s.seed, u * 3.0, v * 12.0, 4)) * smoothstep(0.0, 0.3, v);
        mix(c, scale(s.palette[0], 1.4), cloud * 0.5)
    } else {
        // The water mirrors the sky, broken up by horizontal ripples.
        let depth = v - horizon;
        let ripple = (fbm(s.seed + 3, u * 4.0, v * 60.0, 3) - 0.5) * 0.05 * (1.0 + depth * 8.0);
        let mirrored = horizon - depth - ripple;
        let d = ((u + ripple * 2.0 - sun[0]).abs() * 3.0).min(1.0);
        let glint = (1.0 - d) * smoothstep(0.45, 0.7, noise(s.seed + 5, u * 30.0, v * 200.0)) * 0.6;
        add(
            scale(sky_at(mirrored), 0.72 - depth * 0.6),
            [glint, glint * 0.85, glint * 0.6],
        )
    }
}

fn stripes(s: &Scene, u: f32, v: f32, pixel: f32) -> Color {
    let angle = s.params[0] * PI;
    let frequency = 9.0 + s.params[1] * 16.0;
    let t =
        (u * angle.cos() + v * angle.sin()) * frequency + (2.0 + s.params[2] * 3.0) * fbm(s.seed, u * 1.4, v * 1.4, 4);
    let band = t.floor() as i64;
    let f = t - t.floor();
    let current = s.palette[band.rem_euclid(s.palette.len() as i64) as usize];
    let next = s.palette[(band + 1).rem_euclid(s.palette.len() as i64) as usize];
    let edge = smoothstep(1.0 - pixel * frequency * 1.5, 1.0, f);
    mix(current, next, edge)
}

fn blobs(s: &Scene, u: f32, v: f32) -> Color {
    let mut c = gradient(&s.palette[..2], v);
    for (point, size, color) in &s.points {
        let r = 0.15 + size * 0.3;
        let d2 = (u - point[0]).powi(2) + (v - point[1]).powi(2);
        let influence = (r * r / (d2 + 1e-4)).min(6.0) / 6.0;
        c = mix(c, *color, smoothstep(0.04, 0.5, influence) * 0.85);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn palette() -> Vec<Color> {
        ["#1b1f3b", "#3f4c8c", "#d9a6e3", "#f6c28b", "#fff1d6"]
            .iter()
            .map(|h| hex(h))
            .collect()
    }

    #[test]
    fn rendering_is_deterministic_per_seed() {
        let a = render(ArtStyle::Aurora, &palette(), 7, 64, 48);
        let b = render(ArtStyle::Aurora, &palette(), 7, 64, 48);
        let c = render(ArtStyle::Aurora, &palette(), 8, 64, 48);
        assert_eq!(a.as_raw(), b.as_raw());
        assert_ne!(a.as_raw(), c.as_raw());
    }

    #[test]
    fn every_style_produces_varied_pixels_not_flat_colour() {
        let styles = [
            ArtStyle::Aurora,
            ArtStyle::Contours,
            ArtStyle::Geometric,
            ArtStyle::Ridges,
            ArtStyle::Marble,
            ArtStyle::Cells,
            ArtStyle::Nebula,
            ArtStyle::Waves,
            ArtStyle::Sunset,
            ArtStyle::Stripes,
            ArtStyle::Dunes,
            ArtStyle::Blobs,
        ];
        for style in styles {
            let image = render(style, &palette(), 42, 96, 64);
            let distinct: std::collections::HashSet<_> = image.pixels().map(|p| p.0).collect();
            assert!(
                distinct.len() > 200,
                "{style:?} gave only {} distinct colours",
                distinct.len()
            );
        }
    }
}
