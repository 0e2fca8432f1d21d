//! Who may do what in a shared session, sans-IO: the owner's invitations,
//! which messages each kind of viewer may send, which of the process's
//! messages each may receive, and the `SessionParticipants` list everyone
//! is shown.

use std::collections::BTreeMap;

use oriel_rbac::JoinMode;
use oriel_tdpb::limits::MAX_PARTICIPANTS;
use oriel_tdpb::pb::{Invitation, Participant, ParticipantMode, SessionParticipants};

use super::life::{ViewerId, ViewerMode};

/// Field numbers of `proto/tdpb.proto`'s envelope this module sorts by.
pub(super) mod kind {
    pub const CLIENT_HELLO: u32 = 1;
    pub const CLIENT_SCREEN_SPEC: u32 = 10;
    pub const CLIPBOARD_DATA: u32 = 13;
    pub const SHARED_DIRECTORY_ANNOUNCE: u32 = 15;
    pub const SHARED_DIRECTORY_ACKNOWLEDGE: u32 = 16;
    pub const SHARED_DIRECTORY_REQUEST: u32 = 17;
    pub const SHARED_DIRECTORY_RESPONSE: u32 = 18;
    pub const SHARED_DIRECTORY_REMOVE: u32 = 21;
    pub const SESSION_SELECTION: u32 = 22;
    pub const FRAME_ACK: u32 = 101;
    pub const END_SESSION: u32 = 104;
    pub const REMOVE_PARTICIPANT: u32 = 106;
    pub const INVITE_PARTICIPANT: u32 = 107;
    pub const KEYFRAME_REQUEST: u32 = 108;
}

/// Who of the viewers gets a message the process sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Audience {
    /// Everyone.
    All,
    /// Those who may send input (the owner and peers): clipboard text.
    Senders,
    /// The owner only: shared-directory requests, which only the owner's
    /// browser, which shared the directory, can answer.
    Owner,
}

impl Audience {
    /// Who gets a message of envelope field `kind` from the process.
    pub(super) fn of(kind: u32) -> Self {
        match kind {
            kind::CLIPBOARD_DATA => Self::Senders,
            kind::SHARED_DIRECTORY_REQUEST | kind::SHARED_DIRECTORY_ACKNOWLEDGE => Self::Owner,
            _ => Self::All,
        }
    }

    /// Whether a viewer in `mode` is in it.
    pub(super) fn includes(self, mode: ViewerMode) -> bool {
        match self {
            Self::All => true,
            Self::Senders => mode.may_send_input(),
            Self::Owner => mode == ViewerMode::Owner,
        }
    }
}

/// Whether a viewer in `mode` may send the process a message of envelope
/// field `kind` that is not input (input is the life's decision): the
/// start of the session, the screen's size and shared directories are the
/// owner's; the clipboard is everyone's who may type.
pub(super) fn may_send(mode: ViewerMode, kind: u32) -> bool {
    match kind {
        kind::CLIENT_HELLO
        | kind::SESSION_SELECTION
        | kind::CLIENT_SCREEN_SPEC
        | kind::SHARED_DIRECTORY_ANNOUNCE
        | kind::SHARED_DIRECTORY_RESPONSE
        | kind::SHARED_DIRECTORY_REMOVE => mode == ViewerMode::Owner,
        kind::CLIPBOARD_DATA => mode.may_send_input(),
        // Acknowledgements are the pacing viewer's business, decided apart.
        kind::FRAME_ACK => true,
        // Every viewer decodes, so every viewer may find its picture broken.
        kind::KEYFRAME_REQUEST => true,
        _ => mode.may_send_input(),
    }
}

/// The viewer mode a granted join mode gives.
pub(super) fn viewer_mode(mode: JoinMode) -> ViewerMode {
    match mode {
        JoinMode::Peer => ViewerMode::Peer,
        JoinMode::Observer | JoinMode::Moderator => ViewerMode::Observer,
    }
}

/// The wire's mode of a viewer.
pub(super) fn participant_mode(mode: ViewerMode) -> ParticipantMode {
    match mode {
        ViewerMode::Owner => ParticipantMode::Owner,
        ViewerMode::Peer => ParticipantMode::Peer,
        ViewerMode::Observer => ParticipantMode::Observer,
    }
}

/// Why an invitation was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum InviteError {
    /// Only peers and observers can be invited.
    #[error("a participant is invited as a peer or an observer")]
    Mode,
    /// The list is full.
    #[error("this session has {MAX_PARTICIPANTS} invitations, the most it may")]
    Full,
}

/// The owner's invitations, by user name.
#[derive(Debug, Default)]
pub(super) struct Invitations {
    by_user: BTreeMap<String, ViewerMode>,
}

impl Invitations {
    /// The owner's `InviteParticipant`: invites `user` as `mode`, or
    /// withdraws the invitation (`Unspecified`).
    pub(super) fn apply(&mut self, user: &str, mode: ParticipantMode) -> Result<(), InviteError> {
        let mode = match mode {
            ParticipantMode::Unspecified => {
                self.by_user.remove(user);
                return Ok(());
            }
            ParticipantMode::Peer => ViewerMode::Peer,
            ParticipantMode::Observer => ViewerMode::Observer,
            ParticipantMode::Owner => return Err(InviteError::Mode),
        };
        if !self.by_user.contains_key(user) && self.by_user.len() >= MAX_PARTICIPANTS {
            return Err(InviteError::Full);
        }
        self.by_user.insert(user.to_owned(), mode);
        Ok(())
    }

    /// Whether `user` may join as `mode`: invited as that, or as a peer
    /// (who may choose to only watch).
    pub(super) fn admits(&self, user: &str, mode: ViewerMode) -> bool {
        match self.by_user.get(user) {
            Some(ViewerMode::Peer) => matches!(mode, ViewerMode::Peer | ViewerMode::Observer),
            Some(invited) => *invited == mode,
            None => false,
        }
    }

    /// Forgets `user`'s invitation (the owner removed them).
    pub(super) fn withdraw(&mut self, user: &str) {
        self.by_user.remove(user);
    }

    /// The list, for `SessionParticipants`.
    pub(super) fn list(&self) -> Vec<Invitation> {
        self.by_user.iter().map(|(user, mode)| Invitation { user: user.clone(), mode: participant_mode(*mode) as i32 }).collect()
    }
}

/// The participants list as `viewer` is shown it.
pub(super) fn participants_for(viewer: ViewerId, viewers: &[(ViewerId, String, ViewerMode)], invited: &Invitations) -> SessionParticipants {
    let participants = viewers
        .iter()
        .take(MAX_PARTICIPANTS)
        .map(|(id, user, mode)| Participant { viewer: *id as u32, user: user.clone(), mode: participant_mode(*mode) as i32, you: *id == viewer })
        .collect();
    SessionParticipants { participants, invited: invited.list() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invited_peer_may_join_to_watch_an_invited_observer_only_to_watch() {
        let mut invited = Invitations::default();
        invited.apply("bob", ParticipantMode::Peer).unwrap();
        invited.apply("carol", ParticipantMode::Observer).unwrap();
        assert!(invited.admits("bob", ViewerMode::Peer) && invited.admits("bob", ViewerMode::Observer));
        assert!(invited.admits("carol", ViewerMode::Observer) && !invited.admits("carol", ViewerMode::Peer));
        assert!(!invited.admits("mallory", ViewerMode::Observer), "not invited");
        assert!(!invited.admits("bob", ViewerMode::Owner));
        invited.apply("bob", ParticipantMode::Unspecified).unwrap();
        assert!(!invited.admits("bob", ViewerMode::Observer), "withdrawn");
        assert_eq!(invited.apply("eve", ParticipantMode::Owner), Err(InviteError::Mode));
    }

    #[test]
    fn invitations_are_capped() {
        let mut invited = Invitations::default();
        for i in 0..MAX_PARTICIPANTS {
            invited.apply(&format!("user{i}"), ParticipantMode::Observer).unwrap();
        }
        assert_eq!(invited.apply("one-more", ParticipantMode::Observer), Err(InviteError::Full));
        // Changing an invitation is no new one.
        invited.apply("user0", ParticipantMode::Peer).unwrap();
    }

    #[test]
    fn observers_send_nothing_and_only_the_owner_starts_resizes_and_shares() {
        for owner_only in
            [kind::CLIENT_HELLO, kind::SESSION_SELECTION, kind::CLIENT_SCREEN_SPEC, kind::SHARED_DIRECTORY_ANNOUNCE, kind::SHARED_DIRECTORY_RESPONSE]
        {
            assert!(may_send(ViewerMode::Owner, owner_only));
            assert!(!may_send(ViewerMode::Peer, owner_only));
        }
        assert!(may_send(ViewerMode::Peer, kind::CLIPBOARD_DATA));
        assert!(!may_send(ViewerMode::Observer, kind::CLIPBOARD_DATA));
        assert!(!Audience::of(kind::CLIPBOARD_DATA).includes(ViewerMode::Observer), "an observer never gets the clipboard");
        assert!(!Audience::of(kind::SHARED_DIRECTORY_REQUEST).includes(ViewerMode::Peer));
        assert!(Audience::of(100).includes(ViewerMode::Observer), "frames go to everyone");
    }

    #[test]
    fn everyone_sees_the_list_marked_with_themselves() {
        let mut invited = Invitations::default();
        invited.apply("bob", ParticipantMode::Observer).unwrap();
        let viewers = vec![(1, "alice".to_owned(), ViewerMode::Owner), (2, "bob".to_owned(), ViewerMode::Observer)];
        let list = participants_for(2, &viewers, &invited);
        assert_eq!(list.participants.iter().map(|p| (p.user.as_str(), p.you)).collect::<Vec<_>>(), [("alice", false), ("bob", true)]);
        assert_eq!(list.invited[0].user, "bob");
    }
}
