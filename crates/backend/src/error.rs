//! What can go wrong, and whether trying again helps.

use crate::{Key, KeyError};

/// A backend error.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// No item at the key (or it expired).
    #[error("{0} not found")]
    NotFound(Key),
    /// A create found an item at the key.
    #[error("{0} already exists")]
    AlreadyExists(Key),
    /// The item is absent or at another revision than the one expected.
    #[error("{0} is not at the expected revision")]
    CompareFailed(Key),
    /// The key or prefix is not well formed.
    #[error(transparent)]
    InvalidKey(#[from] KeyError),
    /// The value is larger than a backend stores.
    #[error("value of {len} bytes is over the {max} byte limit")]
    ValueTooLarge {
        /// The value's size.
        len: usize,
        /// The largest value stored.
        max: usize,
    },
    /// A batch has more items than a backend writes in one transaction.
    #[error("batch of {len} items is over the {max} item limit")]
    BatchTooLarge {
        /// The batch's size.
        len: usize,
        /// The most items one batch may hold.
        max: usize,
    },
    /// The request itself is wrong (a caller's mistake).
    #[error("{0}")]
    Invalid(&'static str),
    /// The backend was closed.
    #[error("storage is closed")]
    Closed,
    /// The store could not be reached or was busy: the request may succeed later.
    #[error("storage unavailable: {0}")]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// The store failed in a way that trying again will not fix.
    #[error("storage failed: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
    /// The store was written by a newer Oriel.
    #[error("storage schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// The store's schema version.
        found: i64,
        /// The newest this build reads.
        supported: i64,
    },
}

/// Whether a failed request is worth making again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The same request will fail the same way.
    Never,
    /// Someone else changed the item: read it again, redo the change, and retry.
    AfterRead,
    /// The store was unreachable or busy: retry later, with backoff.
    Later,
}

impl BackendError {
    /// Whether trying again makes sense, and how.
    pub fn retry(&self) -> Retry {
        match self {
            Self::CompareFailed(_) => Retry::AfterRead,
            Self::Unavailable(_) => Retry::Later,
            Self::NotFound(_)
            | Self::AlreadyExists(_)
            | Self::InvalidKey(_)
            | Self::ValueTooLarge { .. }
            | Self::BatchTooLarge { .. }
            | Self::Invalid(_)
            | Self::Closed
            | Self::Internal(_)
            | Self::SchemaTooNew { .. } => Retry::Never,
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into().into())
    }
}

/// A backend result.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;
