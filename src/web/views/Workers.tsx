import { useState } from 'preact/hooks';
import { get, type WorkerView } from '../api.js';
import { bytes, localTime, span } from '../format.js';
import { usePoll } from '../route.js';
import { ErrorLine } from './common.js';

export function WorkersView() {
  const [data, setData] = useState<{ workers: WorkerView[]; lost: WorkerView[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  usePoll(() => {
    get<{ workers: WorkerView[]; lost?: WorkerView[] }>('/api/v1/workers').then((w) => {
      setData({ workers: w.workers, lost: w.lost ?? [] });
      setError(null);
    }, (err) => setError((err as Error).message));
  }, 2000);
  const now = Date.now();
  const all = data ? [...data.workers.map((w) => ({ w, lost: false })), ...data.lost.map((w) => ({ w, lost: true }))] : [];
  return (
    <section aria-labelledby="workers-title">
      <h1 id="workers-title">Workers</h1>
      <ErrorLine error={error} />
      <div class="scroll">
        <table class="workers" aria-label="Workers">
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col" class="num">PID</th>
              <th scope="col">State</th>
              <th scope="col" class="num">Running / concurrency</th>
              <th scope="col" class="num">RAM used / offered</th>
              <th scope="col">Exclusive</th>
              <th scope="col">Pools</th>
              <th scope="col">Labels</th>
              <th scope="col">Last heartbeat</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {all.map(({ w, lost }) => (
              <tr data-worker={w.id} class={lost ? 'lost' : ''}>
                <td>{w.host}</td>
                <td class="num">{w.pid}</td>
                <td>{lost ? <span class="status status-failed">lost</span> : <span class="status status-running">alive</span>}</td>
                <td class="num">
                  <span class="load" role="meter" aria-valuemin={0} aria-valuemax={w.concurrency} aria-valuenow={w.running} aria-label={`${w.running} of ${w.concurrency} running`}>
                    <span class="bar" style={{ width: `${Math.min(100, (w.running / Math.max(1, w.concurrency)) * 100)}%` }} />
                  </span>
                  {w.running} / {w.concurrency}
                </td>
                <td class="num">
                  {bytes(w.ram_used_mb)} / {bytes(w.ram_mb)}
                </td>
                <td>{w.exclusive ? 'yes' : 'no'}</td>
                <td>{w.pools.join(', ')}</td>
                <td class="clip">
                  {Object.entries(w.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}
                </td>
                <td>
                  {localTime(w.heartbeat_at)} <span class="muted">({span(now - Date.parse(w.heartbeat_at))} ago)</span>
                </td>
                <td>{localTime(w.started_at)}</td>
              </tr>
            ))}
            {data && all.length === 0 && (
              <tr>
                <td colSpan={10} class="empty">
                  No worker is running (start one with: <code>sluice worker</code>).
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
