import { useMemo, useState } from 'preact/hooks';
import { get, type Stats } from '../api.js';
import { usePoll } from '../route.js';
import { localTime } from '../format.js';
import { Chart } from './Chart.js';
import { ErrorLine } from './common.js';

export function ThroughputView() {
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<string | null>(null);
  usePoll(() => get<Stats>('/api/v1/stats').then((s) => (setStats(s), setError(null)), (err) => setError((err as Error).message)), 2000);
  const charts = useMemo(() => {
    if (!stats) return null;
    // Counts per slot (10 s) as rates per second, each drawn at its slot's start.
    const step = stats.step_ms / 1000;
    const since = Date.parse(stats.since) / 1000;
    const n = Object.values(stats.started)[0]?.length ?? 0;
    const times = Array.from({ length: n }, (_, i) => since + i * step);
    const per = (m: Record<string, number[]>) => Object.entries(m).map(([label, values]) => ({ label, values: values.map((v) => v / step) }));
    return {
      span: [since, Date.parse(stats.now) / 1000] as [number, number],
      times,
      started: per(stats.started),
      finished: per(stats.finished),
      qTimes: stats.queued.at.map((t) => Date.parse(t) / 1000),
      queued: Object.entries(stats.queued.by_class).map(([label, values]) => ({ label, values })),
      totals: {
        started: Object.values(stats.started).reduce((a, v) => a + v.reduce((x, y) => x + y, 0), 0),
        finished: Object.values(stats.finished).reduce((a, v) => a + v.reduce((x, y) => x + y, 0), 0),
      },
    };
  }, [stats]);
  return (
    <section aria-labelledby="tp-title">
      <h1 id="tp-title">Throughput</h1>
      <ErrorLine error={error} />
      {charts && (
        <>
          <p class="muted" id="tp-totals">
            Last hour: {charts.totals.started} jobs started, {charts.totals.finished} finished (counted from the store). The queue depth is sampled by this server, since {localTime(stats!.tracking_since)}.
          </p>
          <div class="charts">
            <Chart id="started-chart" span={charts.span} title="Jobs started per second, by class (10 s means)" times={charts.times} series={charts.started} />
            <Chart id="finished-chart" span={charts.span} title="Jobs finished per second, by class (10 s means)" times={charts.times} series={charts.finished} />
            <Chart id="queued-chart" span={charts.span} title="Queue depth (units queued), by class" times={charts.qTimes} series={charts.queued} stepped />
          </div>
        </>
      )}
    </section>
  );
}
