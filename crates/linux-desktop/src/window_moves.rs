//! Windows that moved, sans-IO: the X server reports every top-level
//! window's new geometry (ConfigureNotify on the root), and a window that
//! kept its size but changed place most likely shows the same pixels
//! elsewhere, so the browser can copy them instead of receiving them again
//! (as x11vnc does with CopyRect). The capture verifies nothing: whatever
//! the copy got wrong, its tile comparison repaints.

use std::collections::HashMap;

/// A window's place and size on the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Left edge (may be off the screen).
    pub x: i32,
    /// Top edge (may be off the screen).
    pub y: i32,
    /// Width, border included.
    pub width: u32,
    /// Height, border included.
    pub height: u32,
}

/// A window that moved since the last frame: where its pixels were, and
/// where they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowMove {
    /// Where it was when the last frame was taken.
    pub from: Geometry,
    /// Where it is now (same size).
    pub to: Geometry,
}

/// Most top-level windows followed; past it new ones are not (a client
/// making windows without end must not grow the service).
const MAX_WINDOWS: usize = 4096;

/// The top-level windows' geometry, and the moves since the last frame.
#[derive(Debug, Default)]
pub struct WindowMoves {
    windows: HashMap<u32, Geometry>,
    /// Per window, the move since the last [`take`](Self::take), in the
    /// order windows first moved.
    pending: Vec<(u32, WindowMove)>,
}

impl WindowMoves {
    /// A window's new geometry, from a ConfigureNotify.
    pub fn configured(&mut self, window: u32, now: Geometry) {
        let before = if self.windows.len() < MAX_WINDOWS || self.windows.contains_key(&window) { self.windows.insert(window, now) } else { None };
        let Some(before) = before else { return };
        if (before.width, before.height) != (now.width, now.height) {
            // Resized: its pixels are not the old ones moved.
            self.pending.retain(|(w, _)| *w != window);
            return;
        }
        if (before.x, before.y) == (now.x, now.y) {
            return;
        }
        match self.pending.iter_mut().find(|(w, _)| *w == window) {
            Some((_, step)) => step.to = now,
            None => self.pending.push((window, WindowMove { from: before, to: now })),
        }
        // A window that went back where it was has not moved.
        self.pending.retain(|(_, step)| step.from != step.to);
    }

    /// The window is gone.
    pub fn destroyed(&mut self, window: u32) {
        self.windows.remove(&window);
        self.pending.retain(|(w, _)| *w != window);
    }

    /// The moves since the last call, in order, for the next frame.
    pub fn take(&mut self) -> Vec<WindowMove> {
        self.pending.drain(..).map(|(_, step)| step).collect()
    }

    /// Forgets the moves (a keyframe sends the whole screen anyway).
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: i32, y: i32) -> Geometry {
        Geometry { x, y, width: 300, height: 200 }
    }

    #[test]
    fn a_drag_between_frames_is_one_move_from_the_first_place_to_the_last() {
        let mut moves = WindowMoves::default();
        moves.configured(7, at(10, 10));
        assert!(moves.take().is_empty(), "the first geometry seen is no move");
        moves.configured(7, at(12, 11));
        moves.configured(7, at(20, 15));
        assert_eq!(moves.take(), [WindowMove { from: at(10, 10), to: at(20, 15) }]);
        assert!(moves.take().is_empty());
        moves.configured(7, at(25, 15));
        assert_eq!(moves.take(), [WindowMove { from: at(20, 15), to: at(25, 15) }]);
    }

    #[test]
    fn resizes_restacks_round_trips_and_destroyed_windows_are_no_moves() {
        let mut moves = WindowMoves::default();
        moves.configured(1, at(0, 0));
        moves.configured(1, Geometry { x: 5, y: 5, width: 301, height: 200 });
        assert!(moves.take().is_empty(), "a resize");
        moves.configured(2, at(0, 0));
        moves.configured(2, at(0, 0));
        assert!(moves.take().is_empty(), "a restack keeps the place");
        moves.configured(3, at(0, 0));
        moves.configured(3, at(9, 9));
        moves.configured(3, at(0, 0));
        assert!(moves.take().is_empty(), "back where it was");
        moves.configured(4, at(0, 0));
        moves.configured(4, at(1, 1));
        moves.destroyed(4);
        assert!(moves.take().is_empty(), "destroyed");
    }

    #[test]
    fn the_number_of_windows_followed_is_bounded() {
        let mut moves = WindowMoves::default();
        for window in 0..(MAX_WINDOWS as u32 + 100) {
            moves.configured(window, at(0, 0));
        }
        assert_eq!(moves.windows.len(), MAX_WINDOWS);
    }
}
