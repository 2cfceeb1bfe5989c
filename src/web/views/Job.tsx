import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, call, ENDED, get, type JobRecord, type Me, type NodeInfo, type StoreEvent, type UnitInfo, type WorkerView } from '../api.js';
import { localTime, queuedFor, ranFor, span } from '../format.js';
import { live } from '../live.js';
import { useNow } from '../route.js';
import { ErrorLine, Progress, Section, Status, Tags } from './common.js';
import { Json } from './Json.js';

/** The verdict fields of an exec job (sioworkers' names), in the order people read them. */
const VERDICT: Array<[string, string, (v: unknown) => string]> = [
  ['result_code', 'Result', String],
  ['result_string', 'Comment', String],
  ['result_percentage', 'Score', (v) => (Array.isArray(v) ? `${v[0]}${v[1] !== undefined && v[1] !== 1 ? ` / ${v[1]}` : ''} %` : `${String(v)} %`)],
  ['time_used', 'CPU time', (v) => `${String(v)} ms`],
  ['real_time_used', 'Wall time', (v) => `${String(v)} ms`],
  ['mem_used', 'Memory', (v) => `${String(v)} KiB`],
  ['exec_time_limit', 'Time limit', (v) => `${String(v)} ms`],
  ['exec_mem_limit', 'Memory limit', (v) => `${String(v)} KiB`],
];

/** How soon a change of the job has it read again: 250 ms, and 1 ms more per 20 units, up to 5 s. */
const RELOAD_MS = 250;
const RELOAD_MAX_MS = 5000;

interface Loaded {
  record: JobRecord;
  units: UnitInfo[];
  events: StoreEvent[];
}

export function JobView({ me, id }: { me: Me; id: string }) {
  const [data, setData] = useState<Loaded | null>(null);
  const [workers, setWorkers] = useState<Map<string, WorkerView>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const now = useNow();
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const unitCount = useRef(0);
  // The last change the stream brought, and how many: a read that was on its way when a change came
  // keeps that change's status and progress (the read may be older; the next read is already due).
  const latest = useRef<{ info: NodeInfo; count: number }>({ info: null as unknown as NodeInfo, count: 0 });
  const load = async () => {
    const before = latest.current.count;
    try {
      const [record, units, events] = await Promise.all([
        get<JobRecord>(`/api/v1/jobs/${id}`),
        get<{ units: UnitInfo[] }>(`/api/v1/jobs/${id}/units`),
        get<{ events: StoreEvent[] }>(`/api/v1/jobs/${id}/events`),
      ]);
      unitCount.current = units.units.length;
      const changed = latest.current.count > before;
      setData({ record: changed ? { ...record, ...latest.current.info } : record, units: units.units, events: events.events });
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 404 ? `No job ${id} (or not yours to see).` : String((err as Error).message));
    }
  };
  useEffect(() => {
    setData(null);
    void load();
    get<{ workers: WorkerView[]; lost?: WorkerView[] }>('/api/v1/workers').then(
      (w) => setWorkers(new Map([...(w.lost ?? []), ...w.workers].map((x) => [x.id, x]))),
      () => {},
    );
    // A change of this job moves its status and progress at once, and has the record, units and
    // events read again soon after: at most one read waits at a time, so a busy map job's page keeps
    // moving (a read put off by every change would wait for the job to go quiet), and a big one is
    // read less often (its units are many).
    const off = live.on((c) => {
      if (c.id !== id) return;
      latest.current = { info: c.info, count: latest.current.count + 1 };
      setData((d) => (d ? { ...d, record: { ...d.record, ...c.info } } : d));
      if (pending.current !== undefined) return;
      pending.current = setTimeout(() => {
        pending.current = undefined;
        void load();
      }, Math.min(RELOAD_MAX_MS, RELOAD_MS + unitCount.current / 20));
    });
    const offResync = live.onResync(() => void load());
    return () => {
      off();
      offResync();
      clearTimeout(pending.current);
      pending.current = undefined;
    };
  }, [id]);
  if (error) return <ErrorLine error={error} />;
  if (!data) return <p class="loading">Loading…</p>;
  const { record: r, units, events } = data;
  const ended = r.status !== null && ENDED.has(r.status);
  const readOnly = me.role === 'viewer';
  const act = async (what: string, fn: () => Promise<unknown>) => {
    setNotice(null);
    try {
      await fn();
      setNotice(what);
      void load();
    } catch (err) {
      setNotice(`Refused: ${(err as Error).message}`);
    }
  };
  const resubmit = () =>
    act('Submitted again', async () => {
      const inputs = units.length > 1 || (r.progress && r.progress.total > 1) ? units.map((u) => u.input) : undefined;
      const { id: fresh } = await call<{ id: string }>('POST', '/api/v1/jobs', {
        environ: r.environ,
        name: r.name,
        tags: r.tags,
        priority: r.priority,
        class: r.class,
        ...(inputs ? { inputs } : {}),
      });
      location.hash = `#/job/${fresh}`;
    });
  const output = r.output ?? {};
  const verdict = VERDICT.filter(([k]) => output[k] !== undefined && output[k] !== null);
  const streams = (['stdout', 'stderr'] as const).filter((k) => typeof output[k] === 'string' && output[k] !== '');
  return (
    <article aria-labelledby="job-title" data-status={r.status}>
      <p class="crumbs">
        <a href="#/jobs">Jobs</a> › {r.parent ? <a href={`#/jobs?group=${r.parent}`}>group</a> : null} › <span>{r.id}</span>
      </p>
      <h1 id="job-title">
        {r.name || r.id} <Status status={r.status} />
      </h1>
      <div class="actions">
        {!readOnly && !ended && (
          <button id="abort" class="danger" onClick={() => void act('Aborted', () => call('POST', `/api/v1/jobs/${r.id}/abort`))}>
            Abort
          </button>
        )}
        {!readOnly && (
          <button id="resubmit" onClick={() => void resubmit()}>
            Resubmit
          </button>
        )}
        {!readOnly && !ended && <Control id={r.id} onSent={(seq) => setNotice(`Control message ${seq} sent`)} />}
        {readOnly && <span class="muted">read-only (viewer)</span>}
        {notice && (
          <span class="notice" role="status">
            {notice}
          </span>
        )}
      </div>
      <dl class="facts">
        <dt>Progress</dt>
        <dd>
          <Progress info={r} /> {r.progress?.message}
        </dd>
        <dt>Owner</dt>
        <dd>
          {r.owner}
          {r.account && r.account !== r.owner ? ` (account ${r.account})` : ''}
        </dd>
        <dt>Type</dt>
        <dd>{r.job_type}</dd>
        <dt>Class / priority</dt>
        <dd>
          {r.class} / {r.priority}
        </dd>
        <dt>Pool</dt>
        <dd>{r.context}</dd>
        <dt>Tags</dt>
        <dd>
          <Tags tags={r.tags} />
        </dd>
        <dt>Created</dt>
        <dd>{localTime(r.date_created)}</dd>
        <dt>Started</dt>
        <dd>{localTime(r.date_start)}</dd>
        <dt>Ended</dt>
        <dd>{localTime(r.date_end)}</dd>
        <dt>Queued for</dt>
        <dd>{span(queuedFor(r, now))}</dd>
        <dt>Ran for</dt>
        <dd>{span(ranFor(r, now))}</dd>
        <dt>Attempts</dt>
        <dd>
          {r.attempts} of {r.max_attempts}
          {r.lost ? `, lost its worker ${r.lost}×` : ''}
        </dd>
        {r.status_text && (
          <>
            <dt>Says</dt>
            <dd>{r.status_text}</dd>
          </>
        )}
        {r.waiting && (
          <>
            <dt>Waiting</dt>
            <dd>{r.waiting}</dd>
          </>
        )}
        {r.error && (
          <>
            <dt>Error</dt>
            <dd class="error">{r.error}</dd>
          </>
        )}
        {r.delivery && (
          <>
            <dt>Callback</dt>
            <dd>
              {r.delivery.state} ({r.delivery.attempts} tries){r.delivery.last_error ? `: ${r.delivery.last_error}` : ''}
            </dd>
          </>
        )}
      </dl>
      {verdict.length > 0 && (
        <Section title="Verdict">
          <table class="verdict">
            <tbody>
              {verdict.map(([k, label, f]) => (
                <tr>
                  <th scope="row">{label}</th>
                  <td data-key={k}>{f(output[k])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
      {streams.map((k) => (
        <Section title={k} id={k}>
          <pre class="output">{String(output[k])}</pre>
        </Section>
      ))}
      <Section title={`Units (${units.length})`} id="units">
        <div class="scroll">
          <table class="units">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">State</th>
                <th scope="col">Attempts</th>
                <th scope="col">Worker</th>
                <th scope="col">Started</th>
                <th scope="col" class="num">
                  Took
                </th>
                <th scope="col">Result or error</th>
              </tr>
            </thead>
            <tbody>
              {units.slice(0, 500).map((u) => {
                const w = u.worker ? workers.get(u.worker) : undefined;
                return (
                  <tr data-state={u.state}>
                    <td>{u.idx}</td>
                    <td>
                      <span class={`state state-${u.state}`}>{u.state}</span>
                    </td>
                    <td>
                      {u.attempts}
                      {u.lost ? ` (lost ${u.lost})` : ''}
                    </td>
                    <td title={u.worker ?? ''}>{w ? `${w.host}:${w.pid}` : u.worker ? u.worker.slice(0, 8) : ''}</td>
                    <td>{localTime(u.started_at)}</td>
                    <td class="num">{u.started_at ? span((u.ended_at ? Date.parse(u.ended_at) : now) - Date.parse(u.started_at)) : ''}</td>
                    <td class="clip">{u.error ?? (u.result === null || u.result === undefined ? '' : JSON.stringify(u.result))}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {units.length > 500 && <p class="muted">First 500 of {units.length} units.</p>}
        </div>
      </Section>
      <Section title="Environ in">
        <Json value={r.environ} />
      </Section>
      <Section title="Environ out" open={r.output !== null}>
        {r.output ? (
          <Json value={r.output} />
        ) : (
          <p class="muted">{ended ? 'A map job keeps what each unit returned (Units, Result), not one environ.' : 'Not yet: the job has not ended.'}</p>
        )}
      </Section>
      {r.result !== null && r.result !== undefined && (
        <Section title="Result" open={false}>
          <Json value={r.result} />
        </Section>
      )}
      <Section title={`Events (${events.length})`} id="timeline">
        <ol class="timeline">
          {events.map((e) => (
            <li>
              <time>{localTime(e.at)}</time> <span class="verb">{e.verb}</span> {e.info && <Status status={e.info.status} />}{' '}
              {e.info?.progress ? `${e.info.progress.done}/${e.info.progress.total}` : ''} {e.info?.status_text ?? ''}
              <span class="muted"> #{e.seq}</span>
            </li>
          ))}
        </ol>
      </Section>
    </article>
  );
}

function Control({ id, onSent }: { id: string; onSent: (seq: number) => void }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('{"stop": true}');
  const [error, setError] = useState<string | null>(null);
  if (!open)
    return (
      <button id="control" onClick={() => setOpen(true)}>
        Control message…
      </button>
    );
  const send = async (e: Event) => {
    e.preventDefault();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      setError('Not JSON.');
      return;
    }
    try {
      const { seq } = await call<{ seq: number }>('POST', `/api/v1/jobs/${id}/control`, body);
      setOpen(false);
      setError(null);
      onSent(seq);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form class="control" onSubmit={send}>
      <label for="control-body">Control message (JSON)</label>
      <textarea id="control-body" rows={2} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <button type="submit">Send</button>
      <button type="button" class="link" onClick={() => setOpen(false)}>
        Cancel
      </button>
      {error && <span class="error">{error}</span>}
    </form>
  );
}
