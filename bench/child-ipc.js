/**
 * The IPC protocol every benchmark server child speaks with bench/gateway-overhead.js: it sends
 * `{ type: 'ready', port }` once listening, answers `{ type: 'stats' }` with its memory figures, and on
 * `{ type: 'stop' }` shuts down cleanly, sends its final `{ type: 'stopped', ... }` figures and exits.
 */
function cpuMs() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

export function serveIpc(port, options = {}) {
  const extra = options.extra ?? (() => ({}));
  const stop = options.stop ?? (() => Promise.resolve());
  const send = process.send?.bind(process);
  if (!send) throw new Error('start this file through bench/gateway-overhead.js (it needs an IPC channel)');
  const stats = () => ({
    // maxRSS is getrusage's ru_maxrss, in kilobytes: the kernel's peak RSS since the process started.
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    rssMb: process.memoryUsage.rss() / (1024 * 1024),
    cpuMs: cpuMs(),
    ...extra(),
  });
  process.on('message', (msg) => {
    if (msg.type === 'stats') send({ type: 'stats', ...stats() });
    else if (msg.type === 'stop')
      void stop()
        .catch((error) => console.error(error))
        .finally(() => send({ type: 'stopped', ...stats() }, () => process.exit(0)));
  });
  // The parent went away (crash, Ctrl-C): do not linger.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port });
}
