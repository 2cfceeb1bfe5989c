/**
 * The body of the background checkpointer (checkpointer.ts): its own connection to the database,
 * looking at the WAL every few ms and copying it back into the database file (a PASSIVE checkpoint:
 * writers and readers go on meanwhile) once enough has piled up. It looks less often while the WAL
 * does not grow (an idle process). Errors (a busy checkpoint of another process, a full disk) are
 * left for the next look: the writers' own autocheckpoint is the fallback.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, pages, everyMs, idleMs } = workerData as { file: string; pages: number; everyMs: number; idleMs: number };
const db = new Database(file, { timeout: 0 });
// This connection never checkpoints by itself on commit (it never commits), nor on close.
db.pragma('wal_autocheckpoint = 0');
const noop = db.prepare('PRAGMA wal_checkpoint(NOOP)');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

let lastLog = -1;
let timer = setTimeout(look, everyMs);

function look(): void {
  let log = lastLog;
  try {
    const state = noop.get() as { busy: number; log: number; checkpointed: number };
    log = state.log;
    if (state.log - state.checkpointed >= pages) passive.get();
  } catch {
    // tried again at the next look
  }
  const growing = log !== lastLog;
  lastLog = log;
  timer = setTimeout(look, growing ? everyMs : idleMs);
}

parentPort?.on('message', (m) => {
  if (m !== 'stop') return;
  clearTimeout(timer);
  db.close();
  parentPort?.postMessage('stopped');
});
