//! Which XKB layout a session's keyboard gets. Pure: no X, no files.
//!
//! The browser sends physical keys (set-1 scancodes), so the characters they
//! make are decided on the desktop, by its XKB layout: AltGr is Right Alt
//! turned into ISO_Level3_Shift, and dead keys are composed by the X clients
//! themselves. The client names its layout in ClientHello
//! (`keyboard_layout_name`, an XKB name such as `de` or `fr(azerty)`), or
//! only as a Windows KLID (`keyboard_layout`, as Teleport's clients do).

use std::fmt;

/// The layout Xvfb starts with, and the one used when the client's cannot be.
pub const DEFAULT_LAYOUT: &str = "us";

/// An XKB layout name with an optional variant, as in `de` or
/// `de(nodeadkeys)`. Only lowercase names of the shape XKB's own files use
/// get through, so one can be handed to setxkbmap as an argument and be
/// looked up as a file name without escaping anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XkbLayout {
    layout: String,
    variant: Option<String>,
}

/// Why a layout name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an XKB layout name (expected a layout such as \"de\", optionally with a variant: \"de(nodeadkeys)\")")]
pub struct LayoutNameError(pub String);

impl XkbLayout {
    /// Parses `layout` or `layout(variant)`: a layout of 2 to 8 letters
    /// a–z, a variant of 1 to 32 of a–z, 0–9, `_` and `-` not starting with `-`.
    pub fn parse(name: &str) -> Result<Self, LayoutNameError> {
        let refuse = || LayoutNameError(name.to_owned());
        let (layout, variant) = match name.split_once('(') {
            None => (name, None),
            Some((layout, rest)) => (layout, Some(rest.strip_suffix(')').ok_or_else(refuse)?)),
        };
        let layout_ok = (2..=8).contains(&layout.len()) && layout.bytes().all(|b| b.is_ascii_lowercase());
        let variant_ok = variant.is_none_or(|v| {
            (1..=32).contains(&v.len()) && !v.starts_with('-') && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        });
        if !layout_ok || !variant_ok {
            return Err(refuse());
        }
        Ok(Self { layout: layout.to_owned(), variant: variant.map(str::to_owned) })
    }

    /// The US layout, Xvfb's own.
    pub fn us() -> Self {
        Self { layout: DEFAULT_LAYOUT.to_owned(), variant: None }
    }

    /// The layout, e.g. `de`: the file name in XKB's `symbols` directory.
    pub fn layout(&self) -> &str {
        &self.layout
    }

    /// The variant, e.g. `nodeadkeys`: a section of that file.
    pub fn variant(&self) -> Option<&str> {
        self.variant.as_deref()
    }

    /// Whether this is what Xvfb starts with, so nothing needs applying.
    pub fn is_default(&self) -> bool {
        self.layout == DEFAULT_LAYOUT && self.variant.is_none()
    }
}

impl fmt::Display for XkbLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.variant {
            None => f.write_str(&self.layout),
            Some(variant) => write!(f, "{}({variant})", self.layout),
        }
    }
}

/// The layout to set up, and the warning for the user when it is not the
/// one they asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutChoice {
    /// What the desktop's keyboard gets.
    pub layout: XkbLayout,
    /// Why it is not what the client asked for, to show as a WARNING alert.
    pub warning: Option<String>,
}

/// Chooses the layout from the ClientHello's XKB name, else its KLID. No
/// name and no KLID is the US layout without a warning; a name or KLID that
/// cannot be used is the US layout with a warning that names it.
pub fn choose(name: &str, klid: u32) -> LayoutChoice {
    if !name.is_empty() {
        return match XkbLayout::parse(name) {
            Ok(layout) => LayoutChoice { layout, warning: None },
            Err(_) => fallback(format!("keyboard layout {name:?} is not a valid XKB layout name")),
        };
    }
    match klid {
        0 => LayoutChoice { layout: XkbLayout::us(), warning: None },
        klid => match from_klid(klid) {
            Some(layout) => LayoutChoice { layout, warning: None },
            None => fallback(format!("keyboard layout {klid:08X} (a Windows layout id) is not one this desktop knows")),
        },
    }
}

/// The US layout, with `reason` and what happens instead as the warning.
pub fn fallback(reason: String) -> LayoutChoice {
    LayoutChoice { layout: XkbLayout::us(), warning: Some(format!("{reason}; keys type as on a US keyboard")) }
}

/// Windows layout ids (KLIDs, as the hex string `0000xxxx` read as a number)
/// of common keyboards, and their XKB names.
const KLIDS: &[(u32, &str)] = &[
    (0x0000_0409, "us"),
    (0x0002_0409, "us(intl)"),
    (0x0001_0409, "us(dvorak)"),
    (0x0000_0809, "gb"),
    (0x0000_1809, "ie"),
    (0x0000_0407, "de"),
    (0x0000_0807, "ch"),
    (0x0000_100c, "ch(fr)"),
    (0x0000_040c, "fr"),
    (0x0000_080c, "be"),
    (0x0000_0c0c, "ca"),
    (0x0000_1009, "ca"),
    (0x0000_0410, "it"),
    (0x0000_040a, "es"),
    (0x0000_080a, "latam"),
    (0x0000_0816, "pt"),
    (0x0000_0416, "br"),
    (0x0000_0413, "nl"),
    (0x0000_0406, "dk"),
    (0x0000_0414, "no"),
    (0x0000_041d, "se"),
    (0x0000_040b, "fi"),
    (0x0000_040f, "is"),
    (0x0000_0415, "pl"),
    (0x0000_0405, "cz"),
    (0x0000_041b, "sk"),
    (0x0000_040e, "hu"),
    (0x0000_0424, "si"),
    (0x0000_041a, "hr"),
    (0x0000_0419, "ru"),
    (0x0000_0422, "ua"),
    (0x0000_041f, "tr"),
    (0x0000_0408, "gr"),
    (0x0000_0411, "jp"),
    (0x0000_0412, "kr"),
];

/// The XKB layout of a Windows KLID, if it is a common one.
pub fn from_klid(klid: u32) -> Option<XkbLayout> {
    KLIDS.iter().find(|(id, _)| *id == klid).map(|(_, name)| XkbLayout::parse(name).expect("the table holds valid names"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_names_and_variants_parse() {
        let de = XkbLayout::parse("de").unwrap();
        assert_eq!((de.layout(), de.variant()), ("de", None));
        let nodead = XkbLayout::parse("de(nodeadkeys)").unwrap();
        assert_eq!((nodead.layout(), nodead.variant()), ("de", Some("nodeadkeys")));
        assert_eq!(nodead.to_string(), "de(nodeadkeys)");
        assert_eq!(XkbLayout::parse("us(alt-intl)").unwrap().variant(), Some("alt-intl"));
        assert_eq!(XkbLayout::parse("latam").unwrap().to_string(), "latam");
        assert!(XkbLayout::parse("us").unwrap().is_default());
        assert!(!XkbLayout::parse("us(intl)").unwrap().is_default());
    }

    #[test]
    fn anything_else_is_refused() {
        for name in [
            "",
            "d",
            "DE",
            "de ",
            " de",
            "de-ch",
            "toolongname",
            "de()",
            "de(",
            "de(x",
            "de(x)y",
            "de(-v)",
            "de(a b)",
            "de(A)",
            "../de",
            "de;rm",
            "-de",
            "de(x)(y)",
            "dé",
            "nec_vndr/jp",
        ] {
            assert_eq!(XkbLayout::parse(name), Err(LayoutNameError(name.into())), "{name:?}");
        }
        assert!(XkbLayout::parse(&format!("de({})", "v".repeat(33))).is_err());
    }

    #[test]
    fn the_name_wins_over_the_klid_and_what_cannot_be_used_falls_back_to_us_with_a_warning() {
        assert_eq!(choose("fr", 0x0407), LayoutChoice { layout: XkbLayout::parse("fr").unwrap(), warning: None });
        assert_eq!(choose("", 0x0407), LayoutChoice { layout: XkbLayout::parse("de").unwrap(), warning: None });
        assert_eq!(choose("", 0), LayoutChoice { layout: XkbLayout::us(), warning: None });
        let bad = choose("de;reboot", 0);
        assert_eq!(bad.layout, XkbLayout::us());
        assert_eq!(bad.warning.as_deref(), Some("keyboard layout \"de;reboot\" is not a valid XKB layout name; keys type as on a US keyboard"));
        let unknown = choose("", 0x0000_0429);
        assert_eq!(unknown.layout, XkbLayout::us());
        assert!(unknown.warning.unwrap().starts_with("keyboard layout 00000429 (a Windows layout id)"));
    }

    #[test]
    fn common_klids_map_to_their_xkb_layouts() {
        let name = |klid| from_klid(klid).map(|l| l.to_string());
        assert_eq!(name(0x0409).as_deref(), Some("us"));
        assert_eq!(name(0x0407).as_deref(), Some("de"));
        assert_eq!(name(0x040c).as_deref(), Some("fr"));
        assert_eq!(name(0x0002_0409).as_deref(), Some("us(intl)"));
        assert_eq!(name(0x100c).as_deref(), Some("ch(fr)"));
        assert_eq!(name(0xdead), None);
        // Every entry is a valid name (from_klid would panic otherwise).
        for (klid, _) in KLIDS {
            assert!(from_klid(*klid).is_some());
        }
    }
}
