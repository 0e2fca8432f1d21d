// Session sharing as the page sees it: who takes part in a session and how,
// read once off the server's ParticipantMode numbers (ServerHello,
// SessionParticipants), and the words the toolbar shows for it. Pure.
import { ParticipantMode, type SessionParticipants } from './protocol';
import type { JoinMode } from './route';

/** How a connection takes part in a session: it is its owner's, or an invited user's. */
export type Participation = 'owner' | JoinMode;

/** One connection in the session. */
export interface Participant {
  /** The connection's number in the session: removing a participant names it. */
  viewer: number;
  /** The Oriel user. */
  user: string;
  mode: Participation;
  /** This page's own connection. */
  you: boolean;
}

/** A user the owner invited, who may join as `mode`. */
export interface Invitation {
  user: string;
  mode: JoinMode;
}

/** Who is in the session, and whom its owner invited. */
export interface Participants {
  readonly participants: readonly Participant[];
  readonly invited: readonly Invitation[];
}

/**
 * ServerHello.participant_mode. A server from before session sharing says
 * nothing (0): the connection is the owner's, the only kind there was. A
 * mode this client does not know gets the least: watching.
 */
export function helloParticipation(mode: number): Participation {
  return mode === ParticipantMode.UNSPECIFIED ? 'owner' : participation(mode);
}

/** SessionParticipants as the page shows it; an invitation without a mode is no invitation. */
export function readParticipants(message: SessionParticipants): Participants {
  return {
    participants: message.participants.map(({ viewer, user, mode, you }) => ({ viewer, user, mode: participation(mode), you })),
    invited: message.invited.flatMap(({ user, mode }): Invitation[] => {
      if (mode === ParticipantMode.PEER) return [{ user, mode: 'peer' }];
      if (mode === ParticipantMode.OBSERVER) return [{ user, mode: 'observer' }];
      return [];
    }),
  };
}

/** InviteParticipant.mode: null withdraws the invitation. */
export function inviteMode(mode: JoinMode | null): ParticipantMode {
  if (mode === null) return ParticipantMode.UNSPECIFIED;
  return mode === 'peer' ? ParticipantMode.PEER : ParticipantMode.OBSERVER;
}

/** The user whose session it is, once the server has said who is in it. */
export function ownerName(participants: Participants | null): string | null {
  return participants?.participants.find((participant) => participant.mode === 'owner')?.user ?? null;
}

/** The status line of a connected session: an invited user is reminded whose session it is. */
export function participationNote(participation: Participation, owner: string | null): string {
  switch (participation) {
    case 'owner':
      return 'Connected';
    case 'observer':
      return owner === null ? 'Watching a shared session' : `Watching ${owner}'s session`;
    case 'peer':
      return owner === null ? 'Working in a shared session' : `Working with ${owner}`;
  }
}

function participation(mode: number): Participation {
  switch (mode) {
    case ParticipantMode.OWNER:
      return 'owner';
    case ParticipantMode.PEER:
      return 'peer';
    default:
      return 'observer';
  }
}
