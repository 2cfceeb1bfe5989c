import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, get, query, STATUSES, type Me, type NodeInfo, type Page } from '../api.js';
import { queuedFor, ranFor, shortId, span } from '../format.js';
import { live } from '../live.js';
import { useNow } from '../route.js';
import { ErrorLine, Progress, Status, Tags, useLiveRows } from './common.js';

const PAGE = 50;
const FILTERS = ['status', 'owner', 'tag', 'group', 'type', 'q'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JOB_TYPES = ['ping', 'system', 'js', 'exec', 'cpu-exec', 'unsafe-exec', 'compile', 'ingen', 'inwer'];

function filtersOf(params: URLSearchParams): Filters {
  const f: Filters = {};
  for (const k of FILTERS) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  return f;
}

function setFilters(f: Filters): void {
  const q = query(f);
  location.hash = `#/jobs${q}`;
}

/** Whether a node that appeared live belongs to a listing with these filters (the search text is the server's to match). */
function matches(f: Filters, info: NodeInfo, groupId: string | null): boolean {
  if (info.type !== 'job' && !f.group) return false;
  if (f.status && info.status !== f.status) return false;
  if (f.owner && info.owner !== f.owner) return false;
  if (f.tag && !info.tags.includes(f.tag)) return false;
  if (f.type && info.job_type !== f.type) return false;
  if (f.group && info.parent !== groupId) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (!info.name.toLowerCase().includes(q) && !info.tags.some((t) => t.toLowerCase().includes(q))) return false;
  }
  return true;
}

export function JobsView({ me, params }: { me: Me; params: URLSearchParams }) {
  const filters = useMemo(() => filtersOf(params), [params.toString()]);
  const any = Object.keys(filters).length > 0;
  return (
    <section aria-labelledby="jobs-title">
      <h1 id="jobs-title">Jobs</h1>
      <FilterBar me={me} filters={filters} />
      {any ? <FlatList filters={filters} /> : <Tree me={me} />}
    </section>
  );
}

function FilterBar({ me, filters }: { me: Me; filters: Filters }) {
  const [draft, setDraft] = useState<Filters>(filters);
  const [owners, setOwners] = useState<string[]>([]);
  useEffect(() => setDraft(filters), [filters]);
  useEffect(() => {
    if (me.role === 'admin') get<{ owners: Array<{ owner: string }> }>('/api/v1/owners').then((o) => setOwners(o.owners.map((x) => x.owner)), () => {});
  }, []);
  const field = (k: keyof Filters) => ({
    value: draft[k] ?? '',
    onInput: (e: Event) => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value }),
  });
  const apply = (e?: Event) => {
    e?.preventDefault();
    const clean: Filters = {};
    for (const k of FILTERS) if (draft[k]?.trim()) clean[k] = draft[k]!.trim();
    setFilters(clean);
  };
  return (
    <form class="filters" onSubmit={apply} role="search">
      <label>
        Search
        <input id="search" type="search" placeholder="id, name, tag or environ text" {...field('q')} />
      </label>
      <label>
        Status
        <select
          id="filter-status"
          value={draft.status ?? ''}
          onChange={(e) => {
            const status = (e.target as HTMLSelectElement).value;
            setFilters({ ...filters, status });
          }}
        >
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
      </label>
      {me.role === 'admin' && (
        <label>
          Owner
          <input id="filter-owner" list="owners" {...field('owner')} size={10} />
          <datalist id="owners">
            {owners.map((o) => (
              <option value={o} />
            ))}
          </datalist>
        </label>
      )}
      <label>
        Tag
        <input id="filter-tag" {...field('tag')} size={10} />
      </label>
      <label>
        Group
        <input id="filter-group" placeholder="alice/analysis" {...field('group')} size={14} />
      </label>
      <label>
        Type
        <input id="filter-type" list="job-types" {...field('type')} size={8} />
        <datalist id="job-types">
          {JOB_TYPES.map((t) => (
            <option value={t} />
          ))}
        </datalist>
      </label>
      <button type="submit">Filter</button>
      {Object.keys(filters).length > 0 && (
        <button type="button" class="link" onClick={() => setFilters({})}>
          Clear (tree)
        </button>
      )}
    </form>
  );
}

function Head({ tree }: { tree?: boolean }) {
  return (
    <thead>
      <tr>
        <th scope="col">{tree ? 'Group / job' : 'Job'}</th>
        <th scope="col">Status</th>
        <th scope="col">Progress</th>
        <th scope="col" class="num">
          Queued
        </th>
        <th scope="col" class="num">
          Elapsed
        </th>
        <th scope="col" class="wide">
          Owner
        </th>
        <th scope="col" class="wide">
          Tags
        </th>
        <th scope="col" class="wide">
          Class
        </th>
        <th scope="col" class="wide">
          Type
        </th>
      </tr>
    </thead>
  );
}

function Row({ info, depth = 0, toggle, now }: { info: NodeInfo; depth?: number; toggle?: { open: boolean; flip: () => void }; now: number }) {
  const job = info.type === 'job';
  return (
    <tr data-id={info.id} data-status={info.status ?? 'group'} class={job ? 'job' : 'group'}>
      <td class="name" style={{ paddingLeft: `${0.4 + depth * 1.1}em` }}>
        {toggle && (
          <button class="toggle" aria-expanded={toggle.open} aria-label={`${toggle.open ? 'Collapse' : 'Expand'} ${info.name}`} onClick={toggle.flip}>
            {toggle.open ? '▾' : '▸'}
          </button>
        )}
        {job ? (
          <a href={`#/job/${info.id}`} data-row-link title={info.id}>
            {info.name || shortId(info.id)}
          </a>
        ) : (
          <a href={`#/jobs?group=${info.id}`} data-row-link title={`${info.id}: list this group`}>
            {info.name}/
          </a>
        )}
        {job && <span class="id">{shortId(info.id)}</span>}
        {info.status_text && <span class="status-text">{info.status_text}</span>}
      </td>
      <td>
        <Status status={info.status} />
      </td>
      <td>
        <Progress info={info} />
      </td>
      <td class="num">{job ? span(queuedFor(info, now)) : ''}</td>
      <td class="num">{job ? span(ranFor(info, now)) : ''}</td>
      <td class="wide">{info.owner}</td>
      <td class="wide">
        <Tags tags={info.tags} />
      </td>
      <td class="wide">{job ? info.class : ''}</td>
      <td class="wide">{info.job_type ?? ''}</td>
    </tr>
  );
}

/** A listing with filters, newest first, in pages (the server's cursor): live on its first page. */
function FlatList({ filters }: { filters: Filters }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<{ rows: NodeInfo[]; asOf: number; next: string | null; groupId: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [ms, setMs] = useState<number | null>(null);
  const [reload, setReload] = useState(0);
  const now = useNow();
  const cursor = cursors[cursors.length - 1];
  useEffect(() => setCursors([]), [filters]);
  useEffect(() => live.onResync(() => setReload((n) => n + 1)), []);
  useEffect(() => {
    let gone = false;
    setError(null);
    const t0 = performance.now();
    (async () => {
      const q = query({ ...filters, order: 'newest', limit: PAGE, cursor });
      const listing = get<Page>(`/api/v1/jobs${q}`);
      // A job's id finds the job itself, beside whatever the text search finds.
      const byId = filters.q && UUID.test(filters.q) && !cursor ? get<NodeInfo>(`/api/v1/jobs/${filters.q}`).catch(() => null) : null;
      const group = filters.group ? (UUID.test(filters.group) ? filters.group : get<NodeInfo>(`/api/v1/groups${query({ path: filters.group })}`).then((g) => g.id)) : null;
      const [p, one, groupId] = await Promise.all([listing, byId, group]);
      if (gone) return;
      const rows = one && !p.jobs.some((j) => j.id === one.id) ? [one, ...p.jobs] : p.jobs;
      setMs(performance.now() - t0);
      setPage({ rows, asOf: p.seq, next: p.next, groupId });
    })().catch((err) => !gone && setError(err instanceof ApiError ? err.message : String(err)));
    return () => {
      gone = true;
    };
  }, [filters, cursor, reload]);
  const initial = useMemo(() => (page ? { rows: page.rows, asOf: page.asOf } : null), [page]);
  const rows = useLiveRows(initial, (info) => !cursor && matches(filters, info, page?.groupId ?? null));
  return (
    <>
      <ErrorLine error={error} />
      <div class="scroll">
      <table class="jobs" aria-label="Jobs" aria-busy={!rows}>
        <Head />
        <tbody>
          {rows?.map((r) => <Row info={r} now={now} />)}
          {rows && rows.length === 0 && (
            <tr>
              <td colSpan={9} class="empty">
                No job matches.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <button disabled={!cursors.length} onClick={() => setCursors([])}>
          ⇤ Newest
        </button>
        <button disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <button id="older" disabled={!page?.next} onClick={() => page?.next && setCursors([...cursors, page.next])}>
          Older →
        </button>
        <span class="muted">
          page {cursors.length + 1}
          {ms !== null && ` · answered in ${Math.round(ms)} ms`}
        </span>
      </nav>
    </>
  );
}

/** An owner's root group as a row: what the tree shows of it (its name, its owner, how many jobs). */
function rootGroup(id: string, owner: string, jobs: number): NodeInfo {
  return {
    id, type: 'group', name: owner, parent: null, owner, status: null, status_text: `${jobs} job${jobs === 1 ? '' : 's'}`, job_type: null, tags: [],
    priority: 0, class: 'normal', progress: null, attempts: 0, max_attempts: 0, lost: 0, context: 'default', date_created: '', date_start: null, date_end: null, result: null, error: null,
  };
}

/** The tree of groups and jobs: each owner's root group (everyone's for an admin), opened a page at a time. */
function Tree({ me }: { me: Me }) {
  const [roots, setRoots] = useState<NodeInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  const now = useNow();
  useEffect(() => live.onResync(() => setReload((n) => n + 1)), []);
  useEffect(() => {
    // One call for every owner's root group (named after its owner), however many owners there are.
    get<{ owners: Array<{ owner: string; group: string | null; jobs: number }> }>('/api/v1/owners').then(
      ({ owners }) => setRoots(owners.filter((o) => o.group).map((o) => rootGroup(o.group!, o.owner, o.jobs))),
      (err) => setError(err instanceof ApiError ? err.message : String(err)),
    );
  }, [reload]);
  // A first job makes its owner's root group: it comes live too.
  useEffect(
    () =>
      live.on((c) => {
        if (c.info.type === 'group' && c.info.parent === null && (me.role === 'admin' || c.info.owner === me.name)) {
          setRoots((r) => (r && !r.some((g) => g.id === c.id) ? [...r, rootGroup(c.id, c.info.owner, 0)] : r));
        }
      }),
    [],
  );
  return (
    <>
      <ErrorLine error={error} />
      <div class="scroll">
      <table class="jobs tree" aria-label="Groups and jobs">
        <Head tree />
        <tbody>
          {roots?.map((g) => <GroupRow key={g.id} info={g} depth={0} open={roots.length <= 3} now={now} reload={reload} />)}
          {roots && roots.length === 0 && (
            <tr>
              <td colSpan={9} class="empty">
                No jobs yet. Submit one: <code>sluice submit --cmd 'echo hello'</code>
              </td>
            </tr>
          )}
        </tbody>
      </table>
      </div>
    </>
  );
}

function GroupRow({ info, depth, open: initiallyOpen, now, reload }: { info: NodeInfo; depth: number; open: boolean; now: number; reload: number }) {
  const [open, setOpen] = useState(initiallyOpen);
  return (
    <>
      <Row info={info} depth={depth} now={now} toggle={{ open, flip: () => setOpen(!open) }} />
      {open && <Children group={info.id} depth={depth + 1} now={now} reload={reload} />}
    </>
  );
}

function Children({ group, depth, now, reload }: { group: string; depth: number; now: number; reload: number }) {
  const [pages, setPages] = useState<{ rows: NodeInfo[]; asOf: number; next: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async (cursor?: string) => {
    try {
      const p = await get<Page>(`/api/v1/jobs${query({ group, order: 'newest', limit: PAGE, cursor })}`);
      setPages((old) => (cursor && old ? { rows: [...old.rows, ...p.jobs], asOf: old.asOf, next: p.next } : { rows: p.jobs, asOf: p.seq, next: p.next }));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    }
  };
  useEffect(() => void load(), [group, reload]);
  const initial = useMemo(() => (pages ? { rows: pages.rows, asOf: pages.asOf } : null), [pages]);
  const rows = useLiveRows(initial, (i) => i.parent === group);
  if (error)
    return (
      <tr>
        <td colSpan={9} class="error">
          {error}
        </td>
      </tr>
    );
  return (
    <>
      {rows?.map((r) => (r.type === 'group' ? <GroupRow key={r.id} info={r} depth={depth} open={false} now={now} reload={reload} /> : <Row key={r.id} info={r} depth={depth} now={now} />))}
      {pages?.next && (
        <tr>
          <td colSpan={9} style={{ paddingLeft: `${0.4 + depth * 1.1}em` }}>
            <button class="link" onClick={() => void load(pages.next!)}>
              more…
            </button>
          </td>
        </tr>
      )}
    </>
  );
}
