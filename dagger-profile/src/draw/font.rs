//! Text for bitmaps from the public-domain 8×8 font of `font8x8` (ASCII; anything else is
//! drawn as `?`), scaled by whole pixels.

use dagger_core::Error;
use font8x8::legacy::BASIC_LEGACY;

/// Glyph cell size in font pixels.
pub(crate) const GLYPH: usize = 8;

/// The whole-pixel scale that makes glyphs about `size` pixels high (at least 1).
pub(crate) fn scale_for(size: u32) -> i32 {
    (size as i32 / GLYPH as i32).max(1)
}

/// Width of `s` drawn at `scale`.
pub(crate) fn width(s: &str, scale: i32) -> i32 {
    s.chars().count() as i32 * GLYPH as i32 * scale
}

fn glyph(c: char) -> [u8; 8] {
    let code = if c.is_ascii() {
        c as usize
    } else {
        '?' as usize
    };
    BASIC_LEGACY[code]
}

/// Call `pixel(x, y)` for every pixel of `s` with its top-left corner at `at`.
pub(crate) fn draw(
    s: &str,
    at: (i32, i32),
    scale: i32,
    mut pixel: impl FnMut(i32, i32) -> Result<(), Error>,
) -> Result<(), Error> {
    for (i, c) in s.chars().enumerate() {
        let x0 = at.0 + i as i32 * GLYPH as i32 * scale;
        for (row, bits) in glyph(c).iter().enumerate() {
            for col in 0..GLYPH {
                // Bit 0 is the leftmost pixel of the row in font8x8.
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        pixel(x0 + col as i32 * scale + dx, at.1 + row as i32 * scale + dy)?;
                    }
                }
            }
        }
    }
    Ok(())
}
