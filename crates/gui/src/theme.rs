//! Readable on a server's console: text sizes and colours that pass WCAG 2.x AA.
//!
//! egui's defaults draw hints and badges at 9 px, and its red, orange and "weak" grey reach
//! only 2.7:1 to 3.8:1 against its panels; AA wants 4.5:1 for body text.

use egui::{Color32, FontId, TextStyle, Theme};

/// Body text at scale 1.0, in points (= pixels at 1.0).
pub const BODY: f32 = 14.0;
/// Hints, badges and other small text.
pub const SMALL: f32 = 12.0;

/// Applies the sizes and colours to both themes of `ctx`.
pub fn apply(ctx: &egui::Context) {
    for theme in [Theme::Light, Theme::Dark] {
        ctx.style_mut_of(theme, |style| {
            style.text_styles = [
                (TextStyle::Small, FontId::proportional(SMALL)),
                (TextStyle::Body, FontId::proportional(BODY)),
                (TextStyle::Button, FontId::proportional(BODY)),
                (TextStyle::Monospace, FontId::monospace(13.0)),
                (TextStyle::Heading, FontId::proportional(20.0)),
            ]
            .into();
            let v = &mut style.visuals;
            match theme {
                Theme::Light => {
                    v.error_fg_color = Color32::from_rgb(178, 0, 0);
                    v.warn_fg_color = Color32::from_rgb(150, 75, 0);
                    v.weak_text_color = Some(Color32::from_gray(85));
                    v.hyperlink_color = Color32::from_rgb(0, 84, 166);
                    v.widgets.noninteractive.fg_stroke.color = Color32::from_gray(30);
                }
                Theme::Dark => {
                    v.error_fg_color = Color32::from_rgb(255, 120, 120);
                    v.warn_fg_color = Color32::from_rgb(255, 176, 64);
                    v.weak_text_color = Some(Color32::from_gray(165));
                    v.hyperlink_color = Color32::from_rgb(120, 185, 255);
                    v.widgets.noninteractive.fg_stroke.color = Color32::from_gray(215);
                }
            }
        });
    }
}

/// WCAG 2.x contrast ratio of two opaque colours (1:1 to 21:1).
pub fn contrast(a: Color32, b: Color32) -> f32 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// WCAG relative luminance of an sRGB colour.
fn luminance(c: Color32) -> f32 {
    let channel = |v: u8| {
        let s = f32::from(v) / 255.0;
        if s <= 0.040_45 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contrast_formula_matches_wcag_reference_values() {
        // WCAG: black on white is 21:1; #777777 on white is 4.48:1 (just fails AA).
        assert!((contrast(Color32::BLACK, Color32::WHITE) - 21.0).abs() < 0.01);
        assert!((contrast(Color32::from_gray(0x77), Color32::WHITE) - 4.48).abs() < 0.01);
    }
}
