/**
 * The baseline: the least a Node reverse proxy can do. node:http server, http.request to the upstream
 * through a keep-alive agent, request and response bodies piped through untouched.
 * Usage: node bench/bare-proxy.js http://127.0.0.1:PORT (normally started by bench/gateway-overhead.js).
 */
import { Agent, createServer, request } from 'node:http';
import { serveIpc } from './child-ipc.js';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:8000');
const agent = new Agent({ keepAlive: true, maxSockets: 128, keepAliveMsecs: 30_000 });
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

function forwardable(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) if (!hopByHop.has(name)) out[name] = value;
  return out;
}

const server = createServer((req, res) => {
  const up = request(
    {
      agent,
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: { ...forwardable(req.headers), host: upstream.host },
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, forwardable(upRes.headers));
      upRes.pipe(res);
    },
  );
  up.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`upstream error: ${error.message}`);
  });
  req.pipe(up);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  serveIpc(server.address().port, {
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          agent.destroy();
          resolve();
        });
      }),
  });
});
