/**
 * Diagnostic for jest's "A worker process has failed to exit gracefully": preload it into the workers with
 *   NODE_OPTIONS="--require $PWD/test/support/exit-probe.js" npx jest   (an absolute path: child processes too)
 * When a worker is told to end (jest-worker's CHILD_MESSAGE_END), it writes `<tmpdir>/jest-exit-probe/<pid>.txt`: the
 * handles that keep its event loop alive then, again 100, 300 and 450 ms later while it is still alive, and how long
 * it took to exit. A leak shows as a socket, timer or child process still listed after 450 ms; a worker that exits in
 * a few milliseconds leaked nothing. Not loaded by default.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CHILD_MESSAGE_END = 2;

function describeHandle(h) {
  const name = h?.constructor?.name ?? typeof h;
  try {
    if (name === 'Socket') return `Socket ${h.remoteAddress ?? ''}:${h.remotePort ?? ''} fd ${h._handle?.fd ?? '-'}`;
    if (name === 'ChildProcess') return `ChildProcess ${h.spawnfile} pid ${h.pid}`;
    if (name === 'Timeout') return `Timeout ${h._idleTimeout} ms ${String(h._onTimeout).slice(0, 160)}`;
    if (name === 'Server') return `Server ${JSON.stringify(h.address())}`;
  } catch (err) {
    return `${name} (${err})`;
  }
  return name;
}

const snapshot = () =>
  `handles:\n${process._getActiveHandles().map(describeHandle).join('\n')}\nrequests: ${process
    ._getActiveRequests()
    .map((r) => r?.constructor?.name)
    .join(', ')}\n`;

if (process.send) {
  const onMessage = (message) => {
    if (!Array.isArray(message) || message[0] !== CHILD_MESSAGE_END) return;
    // Removed at once: a 'message' listener keeps the IPC channel (and so the worker) alive.
    process.removeListener('message', onMessage);
    const t0 = Date.now();
    const dir = path.join(os.tmpdir(), 'jest-exit-probe');
    const file = path.join(dir, `${process.pid}.txt`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, `told to end at ${new Date(t0).toISOString()}\n${snapshot()}`);
    for (const ms of [100, 300, 450]) {
      setTimeout(
        () => fs.appendFileSync(file, `--- still alive after ${Date.now() - t0} ms\n${snapshot()}`),
        ms,
      ).unref();
    }
    process.on('exit', () => fs.appendFileSync(file, `exited after ${Date.now() - t0} ms\n`));
  };
  process.on('message', onMessage);
}
