import { EventEmitter } from 'node:events';
import type { StateNotifier } from '../control-queries.js';

/**
 * SQLite serves one process: changes are announced in-process after commit. Changes made by another
 * process on the same file (a CLI command) are picked up by the replicas' periodic reconcile.
 */
export function sqliteStateNotifier(): StateNotifier {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  return {
    inTransaction: () => Promise.resolve(),
    afterCommit: (version) => events.emit('version', version),
    subscribe(listener) {
      events.on('version', listener);
      return () => events.off('version', listener);
    },
    close: () => Promise.resolve(),
  };
}
