// A TCP relay between Chromium and the proxy, so a test can drop the
// connections in between as a network would (a Wi-Fi blip, a laptop lid),
// below TLS and the websocket, with no help from either end.
import net from 'node:net';

/**
 * Relays a port on `host` (loopback unless given) to `target` (an https
 * URL); returns its `url` and the controls.
 */
export async function startRelay(target, { host = '127.0.0.1' } = {}) {
  const { hostname, port } = new URL(target);
  const sockets = new Set();
  let holding = false;
  const server = net.createServer((client) => {
    if (holding) return client.destroy();
    const upstream = net.connect(Number(port), hostname);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ]) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
    }
  });
  await new Promise((ready) => server.listen(0, host, ready));
  const cut = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    /** The proxy's address through the relay. */
    url: `https://${host}:${server.address().port}`,
    /** Cuts every connection and refuses new ones until `release`. */
    hold() {
      holding = true;
      cut();
    },
    /** Takes connections again. */
    release() {
      holding = false;
    },
    close: () => {
      cut();
      return new Promise((done) => server.close(done));
    },
  };
}
