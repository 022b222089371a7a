//! What pages show of a store beyond its catalog: its name and theme.

use platform::problem::FieldError;

/// A store as its pages show it.
#[derive(Clone, Debug)]
pub struct StoreFront {
    /// Display name (`control.tenant.name`).
    pub name: String,
    pub theme: Theme,
}

/// Colours and logo from the store's `branding` (control plane, `PATCH
/// /v1/tenants/{id}`). Values are checked again here, whatever was stored:
/// a colour that is not `#rrggbb` or a logo that is not an `https://` URL (or
/// a path of the store's own media) is ignored, so nothing a merchant typed
/// reaches CSS or an attribute unchecked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Theme {
    /// `#rrggbb`: buttons, links and the header's accent.
    pub primary_color: Option<String>,
    pub logo_url: Option<String>,
}

impl Theme {
    /// The theme in a store's `branding` object; unknown keys are ignored.
    pub fn from_branding(branding: &serde_json::Value) -> Self {
        let text = |key: &str| branding.get(key).and_then(serde_json::Value::as_str);
        Self {
            primary_color: text("primary_color").filter(|c| is_color(c)).map(str::to_ascii_lowercase),
            logo_url: text("logo_url").filter(|u| is_logo_url(u)).map(str::to_owned),
        }
    }

    /// The field errors of a `branding` object's theme keys (for the control
    /// plane's validation; `theme.rs` there calls the same rules).
    pub fn errors(branding: &serde_json::Value) -> Vec<FieldError> {
        theme_errors(branding)
    }

    /// The text colour on the primary colour with the better contrast
    /// (WCAG relative luminance): `#000000` or `#ffffff`.
    pub fn on_primary(&self) -> &'static str {
        let Some(color) = &self.primary_color else { return "#ffffff" };
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&color[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
        // Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05).
        if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) {
            "#000000"
        } else {
            "#ffffff"
        }
    }
}

/// `#rrggbb`.
pub fn is_color(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `https://…` without quotes, spaces or angle brackets (at most 2,048
/// characters), or a path under `/media/`.
pub fn is_logo_url(value: &str) -> bool {
    let clean = value.len() <= 2048 && !value.bytes().any(|b| b.is_ascii_whitespace() || b"\"'<>\\`".contains(&b));
    clean && (value.starts_with("https://") && value.len() > "https://".len() || value.starts_with("/media/"))
}

/// The errors of the theme keys of a `branding` object.
pub fn theme_errors(branding: &serde_json::Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match branding.get("primary_color") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(c)) if is_color(c) => {}
        Some(_) => errors.push(FieldError::new("branding.primary_color", "must be a colour as #rrggbb")),
    }
    match branding.get("logo_url") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(u)) if is_logo_url(u) => {}
        Some(_) => {
            errors.push(FieldError::new("branding.logo_url", "must be an https:// URL of at most 2048 characters"))
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_checked_theme_values_are_used() {
        let theme = Theme::from_branding(&json!({"primary_color": "#AABBCC", "logo_url": "https://cdn.example/l.png"}));
        assert_eq!(theme.primary_color.as_deref(), Some("#aabbcc"));
        assert_eq!(theme.logo_url.as_deref(), Some("https://cdn.example/l.png"));
        let hostile = json!({"primary_color": "red;}body{display:none", "logo_url": "javascript:alert(1)"});
        assert_eq!(Theme::from_branding(&hostile), Theme::default());
        assert_eq!(Theme::errors(&hostile).len(), 2);
        assert!(Theme::errors(&json!({"primary_color": "#000000", "other": 1})).is_empty());
    }

    #[test]
    fn text_on_the_primary_colour_keeps_its_contrast() {
        let on = |c: &str| Theme { primary_color: Some(c.into()), logo_url: None }.on_primary();
        assert_eq!(on("#ffff00"), "#000000");
        assert_eq!(on("#1a237e"), "#ffffff");
        assert_eq!(on("#000000"), "#ffffff");
    }
}
