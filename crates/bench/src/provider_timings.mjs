// Loaded by `oriel-bench logins` with `node --import` before
// scripts/oidc-test-provider/provider.mjs, which it leaves unchanged: how
// long the provider spends on each request, from the moment node hands the
// parsed request to the server ('request') until its `res.end()` has
// returned (the response written to the socket, or queued when the socket
// is full), summed per first path segment (".well-known", "jwks", "token",
// "auth", "interaction"). Not 'finish': that event waits for the event
// loop, which may be busy with the client's next request by then.
// GET /__oriel_bench/timings answers the sums so far as JSON
// ({segment: {requests, ns}}) and is not counted itself.
import http from 'node:http';

const sums = {};
const emit = http.Server.prototype.emit;

http.Server.prototype.emit = function (event, req, res) {
  if (event !== 'request') return emit.apply(this, arguments);
  if (req.url === '/__oriel_bench/timings') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sums));
    return true;
  }
  const started = process.hrtime.bigint();
  const segment = req.url.split(/[/?]/)[1] ?? '';
  const end = res.end;
  res.end = function (...args) {
    const result = end.apply(this, args);
    res.end = end;
    const sum = (sums[segment] ??= { requests: 0, ns: 0 });
    sum.requests += 1;
    sum.ns += Number(process.hrtime.bigint() - started);
    return result;
  };
  return emit.apply(this, arguments);
};
