//! The opening exchange of a session: what the client asked for, what this
//! server can offer, and what they agree on. Pure: no X, no sockets.

use oriel_tdpb::pb::{self, Codec};

use crate::keyboard::{self, LayoutChoice};
use crate::x11::screen::ScreenSize;
use crate::xsession::XSession;

/// Codecs this server sends, best first (see docs/codec.md for why).
pub const SERVER_CODECS: [Codec; 3] = [Codec::QoizSession, Codec::QoizStream, Codec::Qoiz];

/// What the two sides agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// Protocol version both speak.
    pub version: u32,
    /// The codec frames will use.
    pub codec: Codec,
    /// The screen the server will set up.
    pub screen: ScreenSize,
    /// The desktop login asked for.
    pub username: String,
    /// The keyboard layout to set up, from the client's XKB name or KLID.
    pub keyboard: LayoutChoice,
    /// The client decodes VP8 next to the session codec: regions in motion
    /// may go as video, if the roles allow.
    pub video: bool,
    /// The client's whole monitor in device pixels, when it says.
    pub monitor: Option<(u32, u32)>,
}

/// Why the hello cannot be accepted; the text goes to the client as an alert.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelloError {
    /// The client speaks only versions this server does not.
    #[error("the client speaks protocol version {0}; this server speaks 1")]
    Version(u32),
    /// No codec in common.
    #[error("the client decodes none of the frame codecs this server sends (QOIZ stream, QOIZ)")]
    NoCodec,
}

/// Agrees on version, codec and screen from a ClientHello (already checked
/// against the protocol's limits). Clients that send no version are
/// Teleport-shaped clients of version 1.
pub fn agree(hello: &pb::ClientHello) -> Result<Agreement, HelloError> {
    let version = match hello.protocol_version {
        0 => 1,
        v => v.min(oriel_tdpb::PROTOCOL_VERSION),
    };
    if version < 1 {
        return Err(HelloError::Version(hello.protocol_version));
    }
    let offered: Vec<Codec> = hello.codecs.iter().filter_map(|&c| Codec::try_from(c).ok()).collect();
    let codec = if offered.is_empty() {
        Codec::Qoiz
    } else {
        // The client's order wins: it knows what it decodes fastest.
        *offered.iter().find(|c| SERVER_CODECS.contains(c)).ok_or(HelloError::NoCodec)?
    };
    let spec = hello.screen_spec.unwrap_or_default();
    let video = codec == Codec::QoizSession && offered.contains(&Codec::Vp8);
    Ok(Agreement {
        video,
        version,
        codec,
        screen: ScreenSize::fit(spec.width, spec.height, spec.scale),
        username: hello.username.clone(),
        keyboard: keyboard::choose(&hello.keyboard_layout_name, hello.keyboard_layout),
        monitor: hello.monitor.map(|m| (m.width, m.height)),
    })
}

/// What to start once the hello is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Exactly one session is available: start it without asking.
    Now(XSession),
    /// Wait for the client's SessionSelection.
    AskClient,
    /// Nothing to offer.
    Nothing,
}

/// Decides whether the client has to choose.
pub fn start(sessions: &[XSession]) -> Start {
    match sessions {
        [] => Start::Nothing,
        [only] => Start::Now(only.clone()),
        _ => Start::AskClient,
    }
}

/// The session the client selected by name.
pub fn select<'a>(sessions: &'a [XSession], name: &str) -> Option<&'a XSession> {
    sessions.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(codecs: &[Codec], version: u32) -> pb::ClientHello {
        pb::ClientHello {
            screen_spec: Some(pb::ClientScreenSpec { width: 20000, height: 10, scale: 200 }),
            codecs: codecs.iter().map(|&c| c as i32).collect(),
            protocol_version: version,
            ..Default::default()
        }
    }

    #[test]
    fn vp8_goes_only_alongside_the_session_codec() {
        assert!(agree(&hello(&[Codec::QoizSession, Codec::Vp8], 1)).unwrap().video);
        assert!(!agree(&hello(&[Codec::QoizSession], 1)).unwrap().video);
        assert!(!agree(&hello(&[Codec::QoizStream, Codec::Vp8], 1)).unwrap().video, "no video with an older codec");
        assert_eq!(agree(&hello(&[Codec::Vp8, Codec::Qoiz], 1)).unwrap().codec, Codec::Qoiz, "VP8 is never the frame codec");
        assert_eq!(agree(&hello(&[Codec::Vp8], 1)), Err(HelloError::NoCodec));
    }

    #[test]
    fn the_clients_codec_order_wins() {
        assert_eq!(agree(&hello(&[Codec::Qoiz, Codec::QoizStream], 1)).unwrap().codec, Codec::Qoiz);
        assert_eq!(agree(&hello(&[Codec::QoizStream], 1)).unwrap().codec, Codec::QoizStream);
        assert_eq!(agree(&hello(&[], 0)).unwrap().codec, Codec::Qoiz, "a client that lists nothing gets QOIZ");
        assert_eq!(agree(&hello(&[Codec::Unspecified], 1)), Err(HelloError::NoCodec));
    }

    #[test]
    fn newer_clients_get_our_version_and_the_screen_is_fitted() {
        let agreement = agree(&hello(&[Codec::Qoiz], 7)).unwrap();
        assert_eq!(agreement.version, 1);
        assert_eq!(agreement.screen, ScreenSize { width: 8192, height: 64, scale: 200 });
    }

    #[test]
    fn one_session_starts_without_asking() {
        let s = |name: &str| XSession { name: name.into(), exec: "x".into(), path: "p".into() };
        assert_eq!(start(&[]), Start::Nothing);
        assert_eq!(start(&[s("a")]), Start::Now(s("a")));
        assert_eq!(start(&[s("a"), s("b")]), Start::AskClient);
        assert_eq!(select(&[s("a"), s("b")], "b"), Some(&s("b")));
        assert_eq!(select(&[s("a")], "../a"), None);
    }
}
