/**
 * The fake upstream: a minimal node:http server answering every request with the same small
 * chat.completion JSON (it reads the whole request body first, like a real server, but does not parse it).
 * It costs as little CPU as possible, so what the benchmark sees is the proxies' own cost.
 */
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { serveIpc } from './child-ipc.js';

const body = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1700000000,
  model: 'bench-model',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hello! I am a fixed benchmark answer.' },
      finish_reason: 'stop',
    },
  ],
  usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
});
const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };

// Requests served, and those carrying a `traceparent` header: only Firebreak adds one (the load generator
// and the bare proxy do not), so that count is exactly the calls Firebreak made, for the recording check.
let served = 0;
let withTraceparent = 0;

const server = createServer((req, res) => {
  served += 1;
  if (req.headers.traceparent !== undefined) withTraceparent += 1;
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  serveIpc(server.address().port, {
    extra: () => ({ served, withTraceparent }),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
});
