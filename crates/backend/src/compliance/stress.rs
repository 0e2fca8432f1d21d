//! Contention, big values, and reopening.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;

use super::Fixture;
use super::{assert_err, event, expect_init, fake_clock, key, now, open, prefix};
use crate::{BackendError, Event, MAX_VALUE_LEN, NewItem, Prefix, Retry};

/// Several tasks, on two handles, swap the same item from the same revision:
/// exactly one wins each round.
pub async fn concurrent_compare_and_swap(fixture: &dyn Fixture) {
    const TASKS: usize = 6;
    const ROUNDS: usize = 15;
    let clock = fake_clock();
    let handles = [open(fixture, &clock).await, open(fixture, &clock).await];
    let k = key("/counter");
    handles[0]
        .create(NewItem::new(k.clone(), "0"))
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let backend = handles[task % 2].clone();
        let barrier = barrier.clone();
        let k = k.clone();
        tasks.push(tokio::spawn(async move {
            let mut wins = Vec::new();
            for _ in 0..ROUNDS {
                let item = backend.get(&k).await.unwrap();
                // Everyone has read the same revision before anyone writes.
                barrier.wait().await;
                let count: usize = std::str::from_utf8(&item.value).unwrap().parse().unwrap();
                let next = NewItem::new(k.clone(), (count + 1).to_string());
                match backend.compare_and_swap(item.revision, next).await {
                    Ok(revision) => {
                        assert!(revision > item.revision);
                        wins.push(true);
                    }
                    Err(e) => {
                        assert!(
                            matches!(e, BackendError::CompareFailed(_)),
                            "unexpected {e}"
                        );
                        assert_eq!(e.retry(), Retry::AfterRead);
                        wins.push(false);
                    }
                }
                // Everyone has written before anyone reads again.
                barrier.wait().await;
            }
            wins
        }));
    }
    let mut wins_per_round = [0; ROUNDS];
    for task in tasks {
        for (round, won) in task.await.unwrap().into_iter().enumerate() {
            wins_per_round[round] += usize::from(won);
        }
    }
    assert_eq!(wins_per_round, [1; ROUNDS], "exactly one winner per round");
    assert_eq!(
        handles[1].get(&k).await.unwrap().value,
        ROUNDS.to_string().as_bytes()
    );
}

/// A 1 MiB value goes through get, list and watch intact; an oversized one is
/// refused.
pub async fn large_values(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut watcher = backend.watch(&[prefix("/big/")]).await.unwrap();
    expect_init(&mut watcher).await;
    // Not compressible, and every byte value occurs.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let value: Vec<u8> = (0..1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let k = key("/big/a");
    backend
        .put(NewItem::new(k.clone(), value.clone()))
        .await
        .unwrap();
    assert!(
        backend.get(&k).await.unwrap().value == value,
        "get returns the value intact"
    );
    let listed = backend.list(&prefix("/big/"), 10).await.unwrap();
    assert!(
        listed.len() == 1 && listed[0].value == value,
        "list returns the value intact"
    );
    match event(&mut watcher).await {
        Event::Put(item) => assert!(item.value == value, "watchers get the value intact"),
        other => panic!("expected a put, got {other:?}"),
    }

    let too_big = NewItem::new(key("/big/b"), vec![0; MAX_VALUE_LEN + 1]);
    assert_err!(
        backend.put(too_big).await,
        BackendError::ValueTooLarge { .. }
    );
    assert_err!(backend.get(&key("/big/b")).await, BackendError::NotFound(_));
}

/// Everything written is there after closing and opening again, and revisions
/// keep growing.
pub async fn persists_across_reopen(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let first = open(fixture, &clock).await;
    let expires = now(&clock) + Duration::from_secs(3600);
    first.put(NewItem::new(key("/p/a"), "a")).await.unwrap();
    first
        .put(NewItem::new(key("/p/b"), "b").expires_at(expires))
        .await
        .unwrap();
    first.create(NewItem::new(key("/p/c"), "c")).await.unwrap();
    first.delete(&key("/p/c")).await.unwrap();
    let before = first.list(&Prefix::ROOT, 10).await.unwrap();
    let last = first.put(NewItem::new(key("/p/d"), "d")).await.unwrap();
    first.close().await.unwrap();
    drop(first);

    let second = open(fixture, &clock).await;
    let mut after = second.list(&Prefix::ROOT, 10).await.unwrap();
    assert_eq!(
        after.pop().map(|i| (i.key, i.revision)),
        Some((key("/p/d"), last))
    );
    assert_eq!(after, before, "items, revisions and expiries survive");
    assert_err!(second.get(&key("/p/c")).await, BackendError::NotFound(_));
    let mut watcher = second.watch(&[prefix("/p/")]).await.unwrap();
    expect_init(&mut watcher).await;
    let newer = second.put(NewItem::new(key("/p/a"), "a2")).await.unwrap();
    assert!(newer > last, "revisions keep growing across a reopen");
    match event(&mut watcher).await {
        Event::Put(item) => assert_eq!(item.revision, newer, "only new writes reach a new watcher"),
        other => panic!("expected a put, got {other:?}"),
    }
}
