//! Keys: odd but legal ones work everywhere, hostile ones never get in.

use super::Fixture;
use super::{fake_clock, key, open, prefix};
use crate::{Key, KeyError, MAX_KEY_LEN, NewItem, Prefix};

/// Characters that trip up SQL, LIKE patterns, shells or URLs are plain data.
pub async fn odd_keys(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let longest = format!("/odd/{}", "k".repeat(MAX_KEY_LEN - 5));
    let mut keys: Vec<String> = [
        "/odd/with space",
        "/odd/ünïcødé",
        "/odd/crab 🦀",
        "/odd/100%",
        "/odd/under_score",
        "/odd/%_",
        "/odd/star*",
        "/odd/question?",
        "/odd/hash#frag",
        "/odd/quote'",
        "/odd/dquote\"",
        "/odd/back\\slash",
        "/odd/'; DROP TABLE items; --",
        "/odd/...",
        "/odd/.hidden",
        "/odd/a..b",
        "/odd/~",
        "/odd/a/b/c/d",
        "/odd/日本語/キー",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    keys.push(longest);
    for k in &keys {
        backend
            .put(NewItem::new(key(k), k.as_bytes()))
            .await
            .unwrap();
    }
    for k in &keys {
        assert_eq!(
            backend.get(&key(k)).await.unwrap().value,
            k.as_bytes(),
            "{k:?} round-trips"
        );
    }
    keys.sort();
    let listed: Vec<String> = backend
        .list(&prefix("/odd/"), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key.as_str().to_owned())
        .collect();
    assert_eq!(listed, keys, "byte-wise order");

    // Wildcards of LIKE and GLOB in a prefix match only themselves.
    for k in [
        "/pct%/a", "/pctX/a", "/und_/a", "/undX/a", "/star*/a", "/starX/a",
    ] {
        backend.put(NewItem::new(key(k), "v")).await.unwrap();
    }
    for (p, only) in [
        ("/pct%/", "/pct%/a"),
        ("/und_/", "/und_/a"),
        ("/star*/", "/star*/a"),
    ] {
        let listed: Vec<Key> = backend
            .list(&prefix(p), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(listed, [key(only)], "prefix {p:?}");
    }
    backend.delete_range(&prefix("/pct%/")).await.unwrap();
    assert!(
        backend.get(&key("/pctX/a")).await.is_ok(),
        "delete_range takes no wildcards"
    );
}

/// Malformed keys are refused before they reach a backend, which stays empty.
pub async fn hostile_keys_refused(fixture: &dyn Fixture) {
    let refused: &[(&str, KeyError)] = &[
        ("", KeyError::Empty),
        ("/", KeyError::EmptySegment),
        ("users/alice", KeyError::NoLeadingSlash),
        ("/users/", KeyError::EmptySegment),
        ("//users", KeyError::EmptySegment),
        ("/users//alice", KeyError::EmptySegment),
        ("/users/../secrets", KeyError::DotSegment),
        ("/..", KeyError::DotSegment),
        ("/./users", KeyError::DotSegment),
        ("/users/alice/.", KeyError::DotSegment),
        ("/users/al\0ice", KeyError::ControlCharacter),
        ("/users/alice\n/x", KeyError::ControlCharacter),
        ("/users/\u{1b}[31m", KeyError::ControlCharacter),
        ("/users/\u{7f}", KeyError::ControlCharacter),
        ("/users/\u{85}", KeyError::ControlCharacter),
    ];
    for (bad, why) in refused {
        assert_eq!(Key::new(*bad), Err(why.clone()), "{bad:?}");
    }
    let too_long = format!("/{}", "k".repeat(MAX_KEY_LEN));
    assert_eq!(
        Key::new(too_long),
        Err(KeyError::TooLong {
            len: MAX_KEY_LEN + 1,
            max: MAX_KEY_LEN
        })
    );
    assert_eq!(Key::from_bytes(b"/users/\xff\xfe"), Err(KeyError::NotUtf8));
    assert_eq!(
        Key::from_bytes(b"/users/alice").unwrap(),
        key("/users/alice")
    );
    assert_eq!(
        Key::from_segments(["users", ".."]),
        Err(KeyError::DotSegment)
    );
    assert_eq!(
        Key::from_segments(["users", "a/b"]).unwrap(),
        key("/users/a/b")
    );
    assert_eq!(key("/users").child("../x"), Err(KeyError::DotSegment));
    assert_eq!(key("/users").child(""), Err(KeyError::EmptySegment));
    assert_eq!(Prefix::new("/users"), Err(KeyError::NoTrailingSlash));
    assert_eq!(Prefix::new("/../"), Err(KeyError::DotSegment));
    assert_eq!(Prefix::new("/a\0/"), Err(KeyError::ControlCharacter));

    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    assert!(backend.list(&Prefix::ROOT, 10).await.unwrap().is_empty());
}
