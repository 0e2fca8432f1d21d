//! Watchers: order, filtering, fan-out, other handles, falling behind.

use super::Fixture;
use super::{assert_err, event, expect_init, fake_clock, key, next, open, options, prefix};
use crate::{BackendError, Event, Key, NewItem, Prefix, Watcher};

fn put_of(event: Event) -> crate::Item {
    match event {
        Event::Put(item) => item,
        other => panic!("expected a put, got {other:?}"),
    }
}

async fn expect_put(watcher: &mut Watcher, key: &Key, value: &[u8]) {
    let item = put_of(event(watcher).await);
    assert_eq!((&item.key, &item.value[..]), (key, value));
}

/// Every kind of write shows up, in the order it was made.
pub async fn watch_events_in_order(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut watcher = backend.watch(&[prefix("/w/")]).await.unwrap();
    expect_init(&mut watcher).await;
    let (a, b) = (key("/w/a"), key("/w/b"));
    let r1 = backend.create(NewItem::new(a.clone(), "a1")).await.unwrap();
    let r2 = backend.update(NewItem::new(a.clone(), "a2")).await.unwrap();
    let r3 = backend.put(NewItem::new(b.clone(), "b1")).await.unwrap();
    backend.delete(&a).await.unwrap();
    let r4 = backend
        .compare_and_swap(r3, NewItem::new(b.clone(), "b2"))
        .await
        .unwrap();
    backend.delete_range(&prefix("/w/")).await.unwrap();

    for (k, value, revision) in [(&a, "a1", r1), (&a, "a2", r2), (&b, "b1", r3)] {
        let item = put_of(event(&mut watcher).await);
        assert_eq!(
            (&item.key, &item.value[..], item.revision),
            (k, value.as_bytes(), revision)
        );
    }
    assert_eq!(event(&mut watcher).await, Event::Delete(a.clone()));
    assert_eq!(put_of(event(&mut watcher).await).revision, r4);
    assert_eq!(event(&mut watcher).await, Event::Delete(b.clone()));
}

/// A watcher sees only the keys below its prefixes.
pub async fn watch_prefix_filtering(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut only_a = backend.watch(&[prefix("/a/")]).await.unwrap();
    let mut b_and_c = backend
        .watch(&[prefix("/b/"), prefix("/c/")])
        .await
        .unwrap();
    expect_init(&mut only_a).await;
    expect_init(&mut b_and_c).await;
    for k in [
        "/a/1", "/b/1", "/c/1", "/d/1", "/ab/1", "/a", "/a/2", "/b/end",
    ] {
        backend.put(NewItem::new(key(k), k)).await.unwrap();
    }
    backend
        .put(NewItem::new(key("/a/end"), "/a/end"))
        .await
        .unwrap();
    // Each watcher's last expected event is its own "end" key: whatever was
    // wrongly let through would show up before it.
    for k in ["/a/1", "/a/2", "/a/end"] {
        expect_put(&mut only_a, &key(k), k.as_bytes()).await;
    }
    for k in ["/b/1", "/c/1", "/b/end"] {
        expect_put(&mut b_and_c, &key(k), k.as_bytes()).await;
    }
}

/// Watchers each get every event; a new watcher gets only what follows it.
pub async fn two_watchers(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut first = backend.watch(&[Prefix::ROOT]).await.unwrap();
    let mut second = backend.watch(&[prefix("/t/")]).await.unwrap();
    expect_init(&mut first).await;
    expect_init(&mut second).await;
    let keys: Vec<Key> = (0..5).map(|i| key(&format!("/t/{i}"))).collect();
    for k in &keys {
        backend
            .put(NewItem::new(k.clone(), k.as_str()))
            .await
            .unwrap();
    }
    for k in &keys {
        expect_put(&mut first, k, k.as_str().as_bytes()).await;
        expect_put(&mut second, k, k.as_str().as_bytes()).await;
    }
    let mut late = backend.watch(&[prefix("/t/")]).await.unwrap();
    expect_init(&mut late).await;
    backend.delete(&keys[0]).await.unwrap();
    for watcher in [&mut first, &mut second, &mut late] {
        assert_eq!(event(watcher).await, Event::Delete(keys[0].clone()));
    }
}

/// Writes through another handle (another process, another node) are seen.
pub async fn watch_sees_other_handle(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let here = open(fixture, &clock).await;
    let there = open(fixture, &clock).await;
    let mut watch_here = here.watch(&[prefix("/x/")]).await.unwrap();
    let mut watch_there = there.watch(&[prefix("/x/")]).await.unwrap();
    expect_init(&mut watch_here).await;
    expect_init(&mut watch_there).await;
    let (a, b) = (key("/x/a"), key("/x/b"));
    there
        .put(NewItem::new(a.clone(), "from there"))
        .await
        .unwrap();
    expect_put(&mut watch_here, &a, b"from there").await;
    there.delete(&a).await.unwrap();
    assert_eq!(event(&mut watch_here).await, Event::Delete(a.clone()));
    here.put(NewItem::new(b.clone(), "from here"))
        .await
        .unwrap();
    expect_put(&mut watch_there, &a, b"from there").await;
    assert_eq!(event(&mut watch_there).await, Event::Delete(a.clone()));
    expect_put(&mut watch_there, &b, b"from here").await;
    assert_eq!(here.get(&b).await.unwrap(), there.get(&b).await.unwrap());
}

/// Many writers at once, on two handles: a watcher on each handle sees every
/// write exactly once, and each key's writes in order. (A log read past a
/// write that commits late would lose it here.)
pub async fn watch_misses_nothing_under_concurrent_writes(fixture: &dyn Fixture) {
    const TASKS: usize = 6;
    const WRITES: usize = 20;
    let clock = fake_clock();
    let handles = [open(fixture, &clock).await, open(fixture, &clock).await];
    let mut watchers = Vec::new();
    for handle in &handles {
        let mut watcher = handle.watch(&[prefix("/busy/")]).await.unwrap();
        expect_init(&mut watcher).await;
        watchers.push(watcher);
    }
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let backend = handles[task % 2].clone();
        tasks.push(tokio::spawn(async move {
            for write in 0..WRITES {
                let k = key(&format!("/busy/{task}"));
                backend
                    .put(NewItem::new(k, write.to_string()))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for watcher in &mut watchers {
        let mut next_write = [0usize; TASKS];
        for _ in 0..TASKS * WRITES {
            let item = put_of(event(watcher).await);
            let task: usize = item.key.segments().nth(1).unwrap().parse().unwrap();
            assert_eq!(
                item.value,
                next_write[task].to_string().as_bytes(),
                "writes to {} in order",
                item.key
            );
            next_write[task] += 1;
        }
        assert_eq!(next_write, [WRITES; TASKS]);
    }
}

/// A watcher that falls behind gets `Reset` and ends, rather than silently
/// missing events.
pub async fn watcher_behind_gets_reset(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = fixture
        .open(crate::Options {
            watch_buffer: 4,
            ..options(&clock)
        })
        .await
        .unwrap();
    let mut slow = backend.watch(&[prefix("/r/")]).await.unwrap();
    let written: Vec<Key> = (0..20).map(|i| key(&format!("/r/{i:02}"))).collect();
    for k in &written {
        backend.put(NewItem::new(k.clone(), "v")).await.unwrap();
    }
    // Wait until the feed has handed out all 20 events: a probe watcher sees
    // a marker written after them. The probe may itself fall behind (it
    // has the same small buffer); then try again with a new one.
    let mut caught_up = false;
    for attempt in 0..100 {
        let mut probe = backend.watch(&[prefix("/probe/")]).await.unwrap();
        expect_init(&mut probe).await;
        let marker = key(&format!("/probe/{attempt}"));
        backend
            .put(NewItem::new(marker.clone(), "m"))
            .await
            .unwrap();
        // Markers of earlier attempts may still be on their way.
        loop {
            match event(&mut probe).await {
                Event::Put(item) if item.key == marker => {
                    caught_up = true;
                    break;
                }
                Event::Put(_) => {}
                Event::Reset => break,
                other => panic!("unexpected probe event {other:?}"),
            }
        }
        if caught_up {
            break;
        }
    }
    assert!(caught_up, "the probe never saw its marker");

    expect_init(&mut slow).await;
    // Whatever the watcher still gets must be the start of what was written,
    // in order, then Reset, then the end.
    let mut seen = 0;
    loop {
        match event(&mut slow).await {
            Event::Put(item) => {
                assert_eq!(item.key, written[seen], "events come in order, with no gap");
                seen += 1;
            }
            Event::Reset => break,
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(
        seen < written.len(),
        "a 4-event buffer cannot hold 20 events"
    );
    assert_eq!(next(&mut slow).await, None, "a reset watcher ends");

    // The backend itself goes on.
    let mut fresh = backend.watch(&[prefix("/r/")]).await.unwrap();
    expect_init(&mut fresh).await;
    backend.delete(&written[0]).await.unwrap();
    assert_eq!(event(&mut fresh).await, Event::Delete(written[0].clone()));
}

/// Watching nothing is a mistake, not a quiet watcher.
pub async fn watch_needs_a_prefix(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    assert_err!(backend.watch(&[]).await, BackendError::Invalid(_));
}

/// close ends watchers, refuses later calls, and may be called twice.
pub async fn close_ends_everything(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut watcher = backend.watch(&[Prefix::ROOT]).await.unwrap();
    expect_init(&mut watcher).await;
    let k = key("/closing/a");
    backend.put(NewItem::new(k.clone(), "a")).await.unwrap();
    expect_put(&mut watcher, &k, b"a").await;
    backend.close().await.unwrap();
    assert_eq!(next(&mut watcher).await, None, "close ends watchers");
    assert_err!(backend.get(&k).await, BackendError::Closed);
    assert_err!(
        backend.put(NewItem::new(k.clone(), "b")).await,
        BackendError::Closed
    );
    assert_err!(backend.list(&Prefix::ROOT, 10).await, BackendError::Closed);
    assert_err!(backend.watch(&[Prefix::ROOT]).await, BackendError::Closed);
    backend.close().await.unwrap();
}
