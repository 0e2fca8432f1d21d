//! What a log kept in the store needs (the audit log): ranges of keys read
//! either way, from the newest, and batches written in one go.

use std::time::{Duration, UNIX_EPOCH};

use super::Fixture;
use super::{assert_err, event, expect_init, fake_clock, key, now, open, prefix};
use crate::{
    BackendError, Event, Item, Key, MAX_BATCH_LEN, MAX_VALUE_LEN, NewItem, Order, Prefix, Retry,
    Revision, Watcher,
};

const UP: Order = Order::Ascending;
const DOWN: Order = Order::Descending;

/// The keys of `items`, checking that each carries its own key as value (as
/// every case here writes them).
fn keys_of(items: Vec<Item>) -> Vec<String> {
    items
        .into_iter()
        .map(|item| {
            assert_eq!(
                item.value,
                item.key.as_str().as_bytes(),
                "a range returns values"
            );
            item.key.as_str().to_owned()
        })
        .collect()
}

fn put_of(event: Event) -> Item {
    match event {
        Event::Put(item) => item,
        other => panic!("expected a put, got {other:?}"),
    }
}

/// Writes a marker and waits for it: whatever the watcher would have seen
/// before the marker shows up instead, and fails the case.
async fn expect_only_marker(backend: &dyn crate::Backend, watcher: &mut Watcher, marker: &Key) {
    let revision = backend
        .put(NewItem::new(marker.clone(), "marker"))
        .await
        .unwrap();
    let item = put_of(event(watcher).await);
    assert_eq!(
        (&item.key, item.revision),
        (marker, revision),
        "nothing reaches watchers before the marker"
    );
}

/// Bytes that do not compress and differ with `seed`.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// list_range reads in key order or reversed, from an inclusive `from` to an
/// exclusive `to`, at most `limit` items; the last key read pages on.
pub async fn list_range_bounds_and_order(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let inside = [
        "/rng/01",
        "/rng/02",
        "/rng/03",
        "/rng/04",
        "/rng/05",
        "/rng/05/sub",
        "/rng/06",
        "/rng/07",
        "/rng/08",
        "/rng/09",
    ];
    // Written out of order, next to neighbours outside the prefix.
    for k in ["/rng/05", "/rnf/z", "/rng", "/rng0/x", "/rnh/a"]
        .into_iter()
        .chain(inside.iter().rev().copied())
    {
        backend.put(NewItem::new(key(k), k)).await.unwrap();
    }
    let p = prefix("/rng/");
    let range = |from: Option<&str>, to: Option<&str>, limit: usize, order: Order| {
        let (backend, p) = (backend.clone(), p.clone());
        let (from, to) = (from.map(key), to.map(key));
        async move {
            keys_of(
                backend
                    .list_range(&p, from.as_ref(), to.as_ref(), limit, order)
                    .await
                    .unwrap(),
            )
        }
    };
    fn reversed<'a>(keys: &[&'a str]) -> Vec<&'a str> {
        keys.iter().rev().copied().collect()
    }

    assert_eq!(range(None, None, 100, UP).await, inside);
    assert_eq!(range(None, None, 100, DOWN).await, reversed(&inside));
    assert_eq!(
        keys_of(backend.list(&p, 100).await.unwrap()),
        inside,
        "list is the ascending range"
    );

    let middle = ["/rng/03", "/rng/04", "/rng/05", "/rng/05/sub"];
    assert_eq!(
        range(Some("/rng/03"), Some("/rng/06"), 100, UP).await,
        middle,
        "from is inclusive, to exclusive"
    );
    assert_eq!(
        range(Some("/rng/03"), Some("/rng/06"), 100, DOWN).await,
        reversed(&middle)
    );
    assert_eq!(
        range(Some("/rng/025"), Some("/rng/045"), 100, UP).await,
        ["/rng/03", "/rng/04"],
        "bounds need not be stored keys"
    );
    assert_eq!(
        range(Some("/rng/08"), None, 100, UP).await,
        ["/rng/08", "/rng/09"]
    );
    assert_eq!(range(None, Some("/rng/02"), 100, DOWN).await, ["/rng/01"]);
    for order in [UP, DOWN] {
        assert!(
            range(Some("/rng/04"), Some("/rng/04"), 100, order)
                .await
                .is_empty(),
            "from == to is empty"
        );
        assert!(
            range(Some("/rng/07"), Some("/rng/03"), 100, order)
                .await
                .is_empty(),
            "from after to is empty"
        );
        assert!(range(None, None, 0, order).await.is_empty());
    }

    assert_eq!(
        range(None, None, 3, DOWN).await,
        ["/rng/09", "/rng/08", "/rng/07"],
        "the limit keeps the newest when descending"
    );
    assert_eq!(
        range(None, None, 3, UP).await,
        ["/rng/01", "/rng/02", "/rng/03"]
    );
    assert_eq!(
        range(None, Some("/rng/06"), 2, DOWN).await,
        ["/rng/05/sub", "/rng/05"]
    );
    assert_eq!(range(None, None, usize::MAX, DOWN).await, reversed(&inside));

    // Paging as the trait says: descending, the last key is the next `to`;
    // ascending, the next `from`, and it comes back first.
    let mut paged = Vec::new();
    let mut to = None;
    loop {
        let page = range(None, to.as_deref(), 3, DOWN).await;
        let Some(last) = page.last().cloned() else {
            break;
        };
        paged.extend(page);
        to = Some(last);
    }
    assert_eq!(paged, reversed(&inside));
    let mut paged: Vec<String> = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let mut page = range(from.as_deref(), None, 3, UP).await;
        if from.is_some() {
            assert_eq!(page.first(), from.as_ref(), "from is inclusive");
            page.remove(0);
        }
        let Some(last) = page.last().cloned() else {
            break;
        };
        paged.extend(page);
        from = Some(last);
    }
    assert_eq!(paged, inside);
}

/// Whatever its bounds, list_range returns nothing outside its prefix.
pub async fn list_range_clipped_to_prefix(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    for k in [
        "/a/x", "/p", "/p/1", "/p/2", "/p/2/z", "/p0", "/p0/1", "/pa/1", "/q/1",
    ] {
        backend.put(NewItem::new(key(k), k)).await.unwrap();
    }
    let range = |p: Prefix, from: Option<&str>, to: Option<&str>, limit: usize, order: Order| {
        let backend = backend.clone();
        let (from, to) = (from.map(key), to.map(key));
        async move {
            keys_of(
                backend
                    .list_range(&p, from.as_ref(), to.as_ref(), limit, order)
                    .await
                    .unwrap(),
            )
        }
    };
    let p = || prefix("/p/");
    let all = ["/p/1", "/p/2", "/p/2/z"];
    for order in [UP, DOWN] {
        let mut expected = all.to_vec();
        if order == DOWN {
            expected.reverse();
        }
        for (from, to) in [
            (Some("/a/x"), Some("/q/1")),
            (Some("/p"), None),
            (None, Some("/p0")),
            (None, Some("/pa/1")),
        ] {
            assert_eq!(
                range(p(), from, to, 100, order).await,
                expected,
                "{from:?}..{to:?} reaches past /p/ on both sides"
            );
        }
        for (from, to) in [
            (None, Some("/p")),
            (None, Some("/a/x")),
            (Some("/p0"), None),
            (Some("/pa/1"), Some("/q/1")),
        ] {
            assert!(
                range(p(), from, to, 100, order).await.is_empty(),
                "{from:?}..{to:?} is outside /p/"
            );
        }
    }
    assert_eq!(
        range(p(), Some("/a/x"), Some("/p/2"), 100, UP).await,
        ["/p/1"]
    );
    assert_eq!(
        range(p(), None, Some("/q/1"), 1, DOWN).await,
        ["/p/2/z"],
        "the newest below the prefix, not the newest before `to`"
    );
    assert_eq!(
        range(prefix("/p/2/"), Some("/p/1"), Some("/q"), 100, UP).await,
        ["/p/2/z"]
    );
    assert_eq!(
        range(Prefix::ROOT, Some("/p0"), Some("/q/1"), 100, UP).await,
        ["/p0", "/p0/1", "/pa/1"]
    );
    assert_eq!(
        range(Prefix::ROOT, None, None, 2, DOWN).await,
        ["/q/1", "/pa/1"]
    );
}

/// Expired items are skipped either way and do not use up the limit.
pub async fn list_range_hides_expired(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let soon = now(&clock) + Duration::from_secs(10);
    for (k, expires) in [
        ("/exr/1", false),
        ("/exr/2", true),
        ("/exr/3", false),
        ("/exr/4", false),
        ("/exr/5", true),
        ("/exr/6", true),
    ] {
        let item = NewItem::new(key(k), k);
        let item = if expires { item.expires_at(soon) } else { item };
        backend.put(item).await.unwrap();
    }
    let p = prefix("/exr/");
    let newest = |limit| {
        let (backend, p) = (backend.clone(), p.clone());
        async move {
            keys_of(
                backend
                    .list_range(&p, None, None, limit, DOWN)
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(newest(2).await, ["/exr/6", "/exr/5"], "not yet expired");

    clock.advance(Duration::from_secs(10));
    assert_eq!(newest(2).await, ["/exr/4", "/exr/3"]);
    assert_eq!(newest(100).await, ["/exr/4", "/exr/3", "/exr/1"]);
    assert_eq!(
        keys_of(backend.list_range(&p, None, None, 100, UP).await.unwrap()),
        ["/exr/1", "/exr/3", "/exr/4"]
    );
    assert!(
        backend
            .list_range(&p, Some(&key("/exr/5")), None, 100, UP)
            .await
            .unwrap()
            .is_empty()
    );

    backend
        .put(NewItem::new(key("/exr/5"), "/exr/5"))
        .await
        .unwrap();
    assert_eq!(
        newest(2).await,
        ["/exr/5", "/exr/4"],
        "written again, seen again"
    );
}

/// put_many writes every item, with revisions in the batch's order; watchers
/// here and on another handle see each item as a put.
pub async fn put_many_writes_each_item(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let here = open(fixture, &clock).await;
    let there = open(fixture, &clock).await;
    let mut watchers = Vec::new();
    for handle in [&here, &there] {
        let mut watcher = handle.watch(&[prefix("/pm/")]).await.unwrap();
        expect_init(&mut watcher).await;
        watchers.push(watcher);
    }
    let (a, b, c) = (key("/pm/a"), key("/pm/b"), key("/pm/c"));
    let before = here.put(NewItem::new(b.clone(), "old")).await.unwrap();
    let expires = now(&clock) + Duration::from_secs(60);
    let batch = vec![
        NewItem::new(c.clone(), "c1").expires_at(expires),
        NewItem::new(a.clone(), "a1"),
        NewItem::new(b.clone(), "b1"),
        NewItem::new(a.clone(), "a2"),
    ];
    let last = here.put_many(batch.clone()).await.unwrap();
    assert!(last > before);

    let mut seen_here = Vec::new();
    for watcher in &mut watchers {
        assert_eq!(put_of(event(watcher).await).revision, before);
        let mut seen = Vec::new();
        for written in &batch {
            let item = put_of(event(watcher).await);
            assert_eq!(
                (&item.key, &item.value, item.expires),
                (&written.key, &written.value, written.expires),
                "each item is a put, in the batch's order"
            );
            seen.push(item);
        }
        assert!(
            seen.windows(2).all(|w| w[0].revision < w[1].revision),
            "revisions grow in the batch's order: {seen:?}"
        );
        assert_eq!(seen[3].revision, last, "put_many returns the last revision");
        assert!(seen[0].revision > before);
        if seen_here.is_empty() {
            seen_here = seen;
        } else {
            assert_eq!(seen, seen_here, "both handles see the same writes");
        }
    }

    assert_eq!(
        there
            .list_range(&prefix("/pm/"), None, None, 100, UP)
            .await
            .unwrap(),
        [&seen_here[3], &seen_here[2], &seen_here[0]]
            .map(Clone::clone)
            .to_vec(),
        "a key given twice ends with its later item; a replaced one with the batch's"
    );
    let next = here.put(NewItem::new(c.clone(), "c2")).await.unwrap();
    assert!(next > last, "revisions go on after a batch");
}

/// One bad item, or too many items, fails the whole batch before anything is
/// written; a batch of exactly the most items goes through, and a watcher
/// that had caught up sees every one of them.
pub async fn put_many_all_or_nothing(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut watcher = backend.watch(&[prefix("/pmx/")]).await.unwrap();
    expect_init(&mut watcher).await;
    let keep = key("/pmx/keep");
    let kept = backend
        .put(NewItem::new(keep.clone(), "old"))
        .await
        .unwrap();
    assert_eq!(put_of(event(&mut watcher).await).revision, kept);

    let too_big = backend
        .put_many(vec![
            NewItem::new(key("/pmx/new1"), "n"),
            NewItem::new(keep.clone(), "changed"),
            NewItem::new(key("/pmx/big"), vec![0; MAX_VALUE_LEN + 1]),
            NewItem::new(key("/pmx/new2"), "n"),
        ])
        .await;
    assert_err!(too_big, BackendError::ValueTooLarge { .. });
    let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
    assert_err!(
        backend
            .put_many(vec![
                NewItem::new(keep.clone(), "changed"),
                NewItem::new(key("/pmx/old"), "o").expires_at(before_1970),
            ])
            .await,
        BackendError::Invalid(_)
    );
    let over: Vec<NewItem> = (0..=MAX_BATCH_LEN)
        .map(|i| NewItem::new(key(&format!("/pmx/over/{i:05}")), "o"))
        .collect();
    let over = backend.put_many(over).await;
    assert_err!(
        over,
        BackendError::BatchTooLarge { len, max } if *len == MAX_BATCH_LEN + 1 && *max == MAX_BATCH_LEN
    );
    assert_eq!(over.unwrap_err().retry(), Retry::Never);

    let left = backend
        .list_range(&prefix("/pmx/"), None, None, usize::MAX, UP)
        .await
        .unwrap();
    assert_eq!(
        left.iter()
            .map(|i| (&i.key, &i.value[..], i.revision))
            .collect::<Vec<_>>(),
        [(&keep, &b"old"[..], kept)],
        "a failed batch writes nothing"
    );
    expect_only_marker(&*backend, &mut watcher, &key("/pmx/marker")).await;

    let full: Vec<NewItem> = (0..MAX_BATCH_LEN)
        .map(|i| {
            let k = key(&format!("/pmx/full/{i:05}"));
            NewItem::new(k.clone(), k.as_str())
        })
        .collect();
    let last = backend.put_many(full.clone()).await.unwrap();
    let stored = backend
        .list_range(&prefix("/pmx/full/"), None, None, usize::MAX, DOWN)
        .await
        .unwrap();
    assert_eq!(stored.len(), MAX_BATCH_LEN);
    assert_eq!(stored[0].revision, last);
    for written in &full {
        let item = put_of(event(&mut watcher).await);
        assert_eq!(
            item.key, written.key,
            "every item of a full batch, in order"
        );
    }
    assert_eq!(
        keys_of(stored).into_iter().rev().collect::<Vec<_>>(),
        full.iter()
            .map(|i| i.key.as_str().to_owned())
            .collect::<Vec<_>>()
    );
}

/// An empty batch writes nothing, tells no watcher, and returns
/// [`Revision::ZERO`], which is older than every write.
pub async fn put_many_empty_batch(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut watcher = backend.watch(&[Prefix::ROOT]).await.unwrap();
    expect_init(&mut watcher).await;
    let first = backend
        .put(NewItem::new(key("/pme/a"), "/pme/a"))
        .await
        .unwrap();
    assert_eq!(put_of(event(&mut watcher).await).revision, first);

    assert_eq!(backend.put_many(Vec::new()).await.unwrap(), Revision::ZERO);
    assert!(Revision::ZERO < first);
    assert_eq!(
        keys_of(backend.list(&Prefix::ROOT, 100).await.unwrap()),
        ["/pme/a"]
    );
    expect_only_marker(&*backend, &mut watcher, &key("/pme/marker")).await;
}

/// A batch of large values, with a key given twice far apart, is still one
/// all-or-nothing write (a driver may need several statements for it).
pub async fn put_many_large_values(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut watcher = backend.watch(&[prefix("/pml/")]).await.unwrap();
    expect_init(&mut watcher).await;
    let (a, b, c) = (key("/pml/a"), key("/pml/b"), key("/pml/c"));
    let len = 3 * 1024 * 1024;
    let batch = vec![
        NewItem::new(a.clone(), noise(len, 1)),
        NewItem::new(b.clone(), noise(len, 2)),
        NewItem::new(c.clone(), noise(len, 3)),
        NewItem::new(a.clone(), noise(len, 4)),
    ];
    let last = backend.put_many(batch.clone()).await.unwrap();
    for written in &batch {
        let item = put_of(event(&mut watcher).await);
        assert!(
            item.key == written.key && item.value == written.value,
            "watchers get {} intact",
            written.key
        );
    }
    let item = backend.get(&a).await.unwrap();
    assert!(
        item.value == batch[3].value && item.revision == last,
        "the later of a key's two items wins"
    );
    let listed = backend
        .list_range(&prefix("/pml/"), None, None, 10, DOWN)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|i| &i.key).collect::<Vec<_>>(),
        [&c, &b, &a]
    );
    assert!(listed[0].value == batch[2].value && listed[1].value == batch[1].value);
}
