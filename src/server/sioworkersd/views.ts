import type { LocalService } from '../../service/index.js';
import type { JobRecord } from '../../store/index.js';

/** One worker as sioworkersd's `get_workers` lists it. */
export interface SioWorker {
  name: string;
  info: { name: string; concurrency: number; available_ram_mb: number; can_run_cpu_exec: boolean };
  /** the task ids (the jobs' `task_id`, else their Sluice ids) it runs now */
  tasks: string[];
  is_running_cpu_exec: boolean;
}

const CPU_EXEC = new Set(['cpu-exec', 'cpu-interactive-exec']);
/** Running jobs looked at for `tasks` (at most the workers' total concurrency are running). */
const RUNNING_LIMIT = 10_000;

/** `get_workers()`: Sluice's live workers in sioworkersd's words (an exclusive-capable worker can run cpu-exec). */
export async function sioWorkers(service: LocalService): Promise<SioWorker[]> {
  const workers = await service.workers();
  const byWorker = new Map<string, Array<{ task: string; type: string }>>();
  for (const info of await service.list({ status: 'Running', limit: RUNNING_LIMIT })) {
    const units = await service.units(info.id);
    const record = (await service.get(info.id)) as JobRecord;
    const task = typeof record.environ?.task_id === 'string' ? record.environ.task_id : info.id;
    for (const unit of units) {
      if (unit.state !== 'running' || !unit.worker) continue;
      byWorker.set(unit.worker, [...(byWorker.get(unit.worker) ?? []), { task, type: info.job_type ?? '' }]);
    }
  }
  return workers.map((w) => {
    const running = byWorker.get(w.id) ?? [];
    const name = `${w.host}:${w.pid}`;
    return {
      name,
      info: { name, concurrency: w.concurrency, available_ram_mb: w.ram_mb, can_run_cpu_exec: w.exclusive },
      tasks: running.map((r) => r.task),
      is_running_cpu_exec: running.some((r) => CPU_EXEC.has(r.type)),
    };
  });
}

/** `get_queue()`: a text dump of the queue (sioworkersd prints its scheduler): each account with work, by its fair-share order. */
export async function queueText(service: LocalService): Promise<string> {
  const rows = (await service.fairshare()).filter((r) => r.queued || r.running).sort((a, b) => b.factor - a.factor || a.owner.localeCompare(b.owner));
  if (!rows.length) return 'the queue is empty\n';
  const lines = rows.map((r) => `${r.owner}: ${r.queued} queued, ${r.running} running; share ${r.share}, usage ${r.usage.toFixed(1)} s, factor ${r.factor.toFixed(3)}`);
  return `${lines.join('\n')}\n`;
}
