import { useState } from 'preact/hooks';
import { get, type FairshareRow, type Stats } from '../api.js';
import { span } from '../format.js';
import { usePoll } from '../route.js';
import { Chart } from './Chart.js';
import { ErrorLine } from './common.js';

/** Why a queue is next: the fair-share order's score and what it is made of (docs/fairshare.md). */
function why(r: FairshareRow): string {
  const n = r.next!;
  return `score ${n.score.toPrecision(3)} = class ${n.class} (weight ${n.weight}) × factor ${r.factor.toFixed(3)} (usage ${r.usage.toFixed(1)} s over share ${r.share}) × age ${n.age_bonus.toFixed(2)} (waiting ${span(n.waited_ms)})`;
}

export function FairshareView() {
  const [rows, setRows] = useState<FairshareRow[] | null>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  usePoll(() => {
    get<{ owners: FairshareRow[] }>('/api/v1/fairshare').then((f) => {
      setRows(f.owners);
      setError(null);
    }, (err) => setError((err as Error).message));
    get<Stats>('/api/v1/stats').then(setStats, () => {});
  }, 2000);
  const queued = (rows ?? []).filter((r) => r.next).sort((a, b) => b.next!.score - a.next!.score);
  const byPool = new Map<string, FairshareRow>();
  for (const r of queued) if (!byPool.has(r.next!.pool)) byPool.set(r.next!.pool, r);
  const usage = stats?.usage;
  return (
    <section aria-labelledby="fs-title">
      <h1 id="fs-title">Fair share</h1>
      <ErrorLine error={error} />
      <div class="next" id="why-next">
        {rows && byPool.size === 0 && <p class="muted">Nothing is queued: the next unit goes to whoever submits first.</p>}
        {[...byPool.entries()].map(([pool, r]) => (
          <p>
            Next in pool <b>{pool}</b>: a <b>{r.next!.class}</b> unit of <b>{r.owner}</b>, because it has the highest {why(r)}.
          </p>
        ))}
      </div>
      <div class="scroll">
        <table class="fairshare" aria-label="Owners">
          <thead>
            <tr>
              <th scope="col">Owner</th>
              <th scope="col" class="num">Share</th>
              <th scope="col" class="num">Usage (s, decayed)</th>
              <th scope="col" class="num">Factor</th>
              <th scope="col" class="num">Running</th>
              <th scope="col" class="num">Queued</th>
              <th scope="col">Order</th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((r) => (
              <tr data-owner={r.owner}>
                <td>{r.owner}</td>
                <td class="num">{r.share}</td>
                <td class="num">{r.usage.toFixed(1)}</td>
                <td class="num">
                  <span class="factor" style={{ '--f': r.factor }}>
                    {r.factor.toFixed(3)}
                  </span>
                </td>
                <td class="num">{r.running}</td>
                <td class="num">{r.queued}</td>
                <td class="clip">{r.next ? why(r) : ''}</td>
              </tr>
            ))}
            {rows && rows.length === 0 && (
              <tr>
                <td colSpan={7} class="empty">
                  No owner has queued or running units.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {usage && (
        <Chart
          id="usage-chart"
          span={[Date.parse(stats!.since) / 1000, Date.parse(stats!.now) / 1000]}
          title="Decayed usage per owner (seconds), sampled by this server"
          times={usage.at.map((t) => Date.parse(t) / 1000)}
          series={Object.entries(usage.by_owner).map(([label, values]) => ({ label, values }))}
        />
      )}
    </section>
  );
}
