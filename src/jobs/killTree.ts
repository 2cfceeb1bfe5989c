import { readdirSync, readFileSync } from 'node:fs';

/**
 * Kills a process, its process group and every descendant found in /proc (a child that left the
 * group with setsid is still found through its parent links). Repeats while new ones appear, since
 * a dying tree can still fork.
 */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  for (let round = 0; round < 5; round++) {
    const victims = [pid, ...descendantsOf(pid)];
    tryKill(-pid, signal);
    for (const victim of victims) tryKill(victim, signal);
    if (descendantsOf(pid).length === 0) return;
  }
}

export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentOf(pid);
    if (ppid === undefined) continue;
    let list = children.get(ppid);
    if (!list) children.set(ppid, (list = []));
    list.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    for (const child of children.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces; fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
