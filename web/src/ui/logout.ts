// The Log out button (#logout), on the desktop list and in a session's toolbar.
import { logOut } from '../api';
import { LOGIN_PATH } from '../route';

/** `beforeLeaving` runs once the server has ended the session, e.g. to close a desktop connection. */
export function offerLogout(button: HTMLButtonElement, beforeLeaving: () => void = () => {}): void {
  button.addEventListener('click', () => {
    button.disabled = true;
    // An error means the cookie is already gone or the server is down; either
    // way the login page is where the user wants to be.
    void logOut()
      .catch((error: unknown) => console.warn('oriel: logout failed', error))
      .finally(() => {
        beforeLeaving();
        location.assign(LOGIN_PATH);
      });
  });
}
