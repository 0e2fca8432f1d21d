//! Why a command failed, as the person who ran it reads it. The message is
//! the same in-process and over gRPC, where the kind picks the status code.

use oriel_auth::control_plane::ControlError;
use oriel_auth::store::StoreError;

/// What sort of failure, for the gRPC status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The request is wrong (a bad name, duration, document).
    InvalidArgument,
    /// What it names does not exist.
    NotFound,
    /// It exists already.
    AlreadyExists,
    /// Someone changed it meanwhile; trying again is safe.
    Conflict,
    /// The caller may not do this.
    PermissionDenied,
    /// The server failed (storage, randomness); not the request's fault.
    Internal,
}

/// A failed command: a kind and a sentence (lowercase, no final period).
///
/// Not a `std::error::Error` on purpose, so that any error converts into it
/// with `?` (the message keeps the error's whole chain, as `{:#}` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What sort.
    pub kind: FailureKind,
    /// What to tell the person.
    pub message: String,
}

impl Failure {
    /// A failure of `kind` saying `message`.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// The request is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(FailureKind::InvalidArgument, message)
    }

    /// What it names does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(FailureKind::NotFound, message)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Failure {
    fn from(error: E) -> Self {
        let kind = kind_of(&error);
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        Self { kind, message }
    }
}

fn kind_of(error: &(dyn std::error::Error + 'static)) -> FailureKind {
    let store = |e: &StoreError| match e {
        StoreError::NotFound { .. } => FailureKind::NotFound,
        StoreError::AlreadyExists { .. } => FailureKind::AlreadyExists,
        StoreError::Conflict { .. } => FailureKind::Conflict,
        _ => FailureKind::Internal,
    };
    if let Some(e) = error.downcast_ref::<StoreError>() {
        return store(e);
    }
    match error.downcast_ref::<ControlError>() {
        Some(ControlError::Store(e)) => store(e),
        Some(ControlError::InDocument { error, .. }) => kind_of(error.as_ref()),
        Some(ControlError::Random(_)) => FailureKind::Internal,
        Some(_) => FailureKind::InvalidArgument,
        None => FailureKind::InvalidArgument,
    }
}
