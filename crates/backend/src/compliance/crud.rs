//! Reads and writes, one at a time.

use super::Fixture;
use super::{assert_err, fake_clock, key, open, prefix};
use crate::{BackendError, NewItem, Prefix, Retry, Revision};

/// get, create, put, update, delete, and revisions that only grow.
pub async fn crud(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let k = key("/crud/a");
    assert_err!(backend.get(&k).await, BackendError::NotFound(missing) if *missing == k);

    let r1 = backend
        .create(NewItem::new(k.clone(), "one"))
        .await
        .unwrap();
    let item = backend.get(&k).await.unwrap();
    assert_eq!(
        (&item.key, &item.value[..], item.revision, item.expires),
        (&k, &b"one"[..], r1, None)
    );

    let r2 = backend.put(NewItem::new(k.clone(), "two")).await.unwrap();
    assert!(r2 > r1, "put gives a newer revision");
    assert_eq!(backend.get(&k).await.unwrap().value, b"two");

    let r3 = backend
        .update(NewItem::new(k.clone(), "three"))
        .await
        .unwrap();
    assert!(r3 > r2, "update gives a newer revision");
    let item = backend.get(&k).await.unwrap();
    assert_eq!((&item.value[..], item.revision), (&b"three"[..], r3));

    let other = key("/crud/b");
    assert_err!(
        backend.update(NewItem::new(other.clone(), "x")).await,
        BackendError::NotFound(_)
    );
    assert_err!(backend.get(&other).await, BackendError::NotFound(_));
    let r4 = backend.put(NewItem::new(other.clone(), "")).await.unwrap();
    assert!(r4 > r3);
    assert_eq!(
        backend.get(&other).await.unwrap().value,
        b"",
        "an empty value is a value"
    );

    backend.delete(&k).await.unwrap();
    assert_err!(backend.get(&k).await, BackendError::NotFound(_));
    let deleted_again = backend.delete(&k).await;
    assert_err!(deleted_again, BackendError::NotFound(_));
    assert_eq!(deleted_again.unwrap_err().retry(), Retry::Never);
    assert_err!(
        backend.update(NewItem::new(k.clone(), "x")).await,
        BackendError::NotFound(_)
    );

    let r5 = backend
        .create(NewItem::new(k.clone(), "again"))
        .await
        .unwrap();
    assert!(r5 > r4, "revisions keep growing after a delete");
    assert_eq!(
        backend.get(&other).await.unwrap().revision,
        r4,
        "other items keep their revision"
    );
}

/// create never overwrites a live item.
pub async fn create_conflicts(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let k = key("/conflict/a");
    let r1 = backend
        .create(NewItem::new(k.clone(), "first"))
        .await
        .unwrap();
    let conflict = backend.create(NewItem::new(k.clone(), "second")).await;
    assert_err!(conflict, BackendError::AlreadyExists(existing) if *existing == k);
    assert_eq!(conflict.unwrap_err().retry(), Retry::Never);
    let item = backend.get(&k).await.unwrap();
    assert_eq!(
        (&item.value[..], item.revision),
        (&b"first"[..], r1),
        "a refused create changes nothing"
    );

    // A conflict does not spoil the next write.
    let r2 = backend
        .create(NewItem::new(key("/conflict/b"), "b"))
        .await
        .unwrap();
    assert!(r2 > r1);
}

/// compare_and_swap succeeds only at the expected revision.
pub async fn compare_and_swap(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let k = key("/cas/a");
    let r1 = backend.create(NewItem::new(k.clone(), "a")).await.unwrap();
    let r2 = backend
        .compare_and_swap(r1, NewItem::new(k.clone(), "b"))
        .await
        .unwrap();
    assert!(r2 > r1);
    let item = backend.get(&k).await.unwrap();
    assert_eq!((&item.value[..], item.revision), (&b"b"[..], r2));

    let stale = backend
        .compare_and_swap(r1, NewItem::new(k.clone(), "c"))
        .await;
    assert_err!(stale, BackendError::CompareFailed(failed) if *failed == k);
    assert_eq!(stale.unwrap_err().retry(), Retry::AfterRead);
    assert_eq!(
        backend.get(&k).await.unwrap().value,
        b"b",
        "a failed swap changes nothing"
    );

    assert_err!(
        backend
            .compare_and_swap(Revision::new(u64::MAX), NewItem::new(k.clone(), "d"))
            .await,
        BackendError::CompareFailed(_)
    );
    assert_err!(
        backend
            .compare_and_swap(r2, NewItem::new(key("/cas/missing"), "d"))
            .await,
        BackendError::CompareFailed(_)
    );

    let expires = super::now(&clock) + std::time::Duration::from_secs(60);
    let r3 = backend
        .compare_and_swap(r2, NewItem::new(k.clone(), "e").expires_at(expires))
        .await
        .unwrap();
    let item = backend.get(&k).await.unwrap();
    assert_eq!(
        (&item.value[..], item.revision, item.expires),
        (&b"e"[..], r3, Some(expires))
    );
}

/// list: key order (byte-wise), strictly below the prefix, at most `limit`.
pub async fn list_order_prefix_limit(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    let keys = [
        "/l/b", "/l/é", "/l/a", "/l/c/x", "/l/c", "/l/B", "/l0", "/l", "/lz/a", "/m/a", "/l/a b",
    ];
    for k in keys {
        backend.put(NewItem::new(key(k), k)).await.unwrap();
    }
    let listed = |items: Vec<crate::Item>| -> Vec<String> {
        for item in &items {
            assert_eq!(
                item.value,
                item.key.as_str().as_bytes(),
                "list returns values"
            );
        }
        items
            .into_iter()
            .map(|item| item.key.as_str().to_owned())
            .collect()
    };
    let under_l = ["/l/B", "/l/a", "/l/a b", "/l/b", "/l/c", "/l/c/x", "/l/é"];
    assert_eq!(
        listed(backend.list(&prefix("/l/"), 100).await.unwrap()),
        under_l
    );
    assert_eq!(
        listed(backend.list(&prefix("/l/"), 2).await.unwrap()),
        under_l[..2]
    );
    assert_eq!(
        listed(backend.list(&prefix("/l/"), 0).await.unwrap()),
        Vec::<String>::new()
    );
    assert_eq!(
        listed(backend.list(&prefix("/l/c/"), 100).await.unwrap()),
        ["/l/c/x"]
    );
    assert_eq!(
        listed(backend.list(&prefix("/nothing/"), 100).await.unwrap()),
        Vec::<String>::new()
    );
    let mut all: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    all.sort();
    assert_eq!(
        listed(backend.list(&Prefix::ROOT, usize::MAX).await.unwrap()),
        all
    );
}

/// delete_range removes exactly the keys below the prefix.
pub async fn delete_range(fixture: &dyn Fixture) {
    let clock = fake_clock();
    let backend = open(fixture, &clock).await;
    for k in ["/d", "/d/a", "/d/a/b", "/d/b", "/da/x", "/e/a"] {
        backend.put(NewItem::new(key(k), "v")).await.unwrap();
    }
    backend.delete_range(&prefix("/d/")).await.unwrap();
    let left: Vec<String> = backend
        .list(&Prefix::ROOT, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.key.as_str().to_owned())
        .collect();
    assert_eq!(left, ["/d", "/da/x", "/e/a"]);
    backend.delete_range(&prefix("/nothing/")).await.unwrap();
    backend.delete_range(&Prefix::ROOT).await.unwrap();
    assert!(backend.list(&Prefix::ROOT, 100).await.unwrap().is_empty());
}
