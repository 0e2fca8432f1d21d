//! Expiry on the fake clock.

use std::time::Duration;

use super::Fixture;
use super::{assert_err, event, expect_init, fake_clock, key, now, open, prefix};
use crate::{BackendError, Event, NewItem, Prefix, Revision};

/// An expired item is gone for every operation the moment the clock passes it.
pub async fn expiry_hides_at_once(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let k = key("/exp/a");
    let forever = key("/exp/forever");
    // Sub-second precision survives storage.
    let expires = now(&clock) + Duration::new(10, 123_456_789);
    let r1 = backend
        .put(NewItem::new(k.clone(), "a").expires_at(expires))
        .await
        .unwrap();
    backend
        .put(NewItem::new(forever.clone(), "f"))
        .await
        .unwrap();
    assert_eq!(backend.get(&k).await.unwrap().expires, Some(expires));

    clock.advance(Duration::from_secs(10));
    assert!(backend.get(&k).await.is_ok(), "not yet expired");
    clock.advance(Duration::new(0, 123_456_789));
    assert_err!(backend.get(&k).await, BackendError::NotFound(_));
    let listed = backend.list(&prefix("/exp/"), 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|i| &i.key).collect::<Vec<_>>(),
        [&forever]
    );
    assert_err!(
        backend.update(NewItem::new(k.clone(), "b")).await,
        BackendError::NotFound(_)
    );
    assert_err!(
        backend
            .compare_and_swap(r1, NewItem::new(k.clone(), "b"))
            .await,
        BackendError::CompareFailed(_)
    );
    assert_err!(backend.delete(&k).await, BackendError::NotFound(_));
    let later = now(&clock) + Duration::from_secs(60);
    assert_err!(
        backend.keep_alive(&k, r1, later).await,
        BackendError::NotFound(_)
    );

    // An expired item does not block create.
    let r2 = backend
        .create(NewItem::new(k.clone(), "new"))
        .await
        .unwrap();
    let item = backend.get(&k).await.unwrap();
    assert_eq!(
        (&item.value[..], item.revision, item.expires),
        (&b"new"[..], r2, None)
    );
    assert!(backend.get(&forever).await.is_ok());
}

/// The background sweep removes expired items and tells watchers.
pub async fn sweep_emits_delete(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut watcher = backend.watch(&[prefix("/sweep/")]).await.unwrap();
    expect_init(&mut watcher).await;
    let k = key("/sweep/a");
    let forever = key("/sweep/forever");
    backend
        .put(NewItem::new(k.clone(), "a").expires_at(now(&clock) + Duration::from_secs(5)))
        .await
        .unwrap();
    backend
        .put(NewItem::new(forever.clone(), "f"))
        .await
        .unwrap();
    assert!(matches!(event(&mut watcher).await, Event::Put(item) if item.key == k));
    assert!(matches!(event(&mut watcher).await, Event::Put(item) if item.key == forever));

    clock.advance(Duration::from_secs(6));
    assert_eq!(
        event(&mut watcher).await,
        Event::Delete(k.clone()),
        "the sweep tells watchers"
    );
    assert_err!(backend.get(&k).await, BackendError::NotFound(_));
    assert!(
        backend.get(&forever).await.is_ok(),
        "the sweep leaves live items alone"
    );
    let listed = backend.list(&Prefix::ROOT, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
}

/// keep_alive moves the expiry of the revision it was given.
pub async fn keep_alive(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let mut watcher = backend.watch(&[prefix("/alive/")]).await.unwrap();
    expect_init(&mut watcher).await;
    let k = key("/alive/a");
    let start = now(&clock);
    let r1 = backend
        .put(NewItem::new(k.clone(), "a").expires_at(start + Duration::from_secs(10)))
        .await
        .unwrap();
    let r2 = backend
        .keep_alive(&k, r1, start + Duration::from_secs(60))
        .await
        .unwrap();
    assert!(r2 > r1, "keep_alive is a write");
    let item = backend.get(&k).await.unwrap();
    assert_eq!(
        (&item.value[..], item.revision, item.expires),
        (&b"a"[..], r2, Some(start + Duration::from_secs(60)))
    );

    assert!(matches!(event(&mut watcher).await, Event::Put(item) if item.revision == r1));
    match event(&mut watcher).await {
        Event::Put(seen) => assert_eq!(seen, item, "watchers see the new expiry"),
        other => panic!("expected a put, got {other:?}"),
    }

    assert_err!(
        backend
            .keep_alive(&k, r1, start + Duration::from_secs(90))
            .await,
        BackendError::CompareFailed(_)
    );
    assert_err!(
        backend
            .keep_alive(
                &key("/alive/missing"),
                Revision::new(1),
                start + Duration::from_secs(90)
            )
            .await,
        BackendError::NotFound(_)
    );
    clock.advance(Duration::from_secs(30));
    assert!(
        backend.get(&k).await.is_ok(),
        "kept alive past its first expiry"
    );
    clock.advance(Duration::from_secs(30));
    assert_err!(backend.get(&k).await, BackendError::NotFound(_));
}
