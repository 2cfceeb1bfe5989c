import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, call, get, type Me } from './api.js';
import { live, type LiveState } from './live.js';
import { JobsView } from './views/Jobs.js';
import { JobView } from './views/Job.js';
import { FairshareView } from './views/Fairshare.js';
import { WorkersView } from './views/Workers.js';
import { ThroughputView } from './views/Throughput.js';
import { parseRoute, useRoute, type Route } from './route.js';

const VIEWS: Array<{ key: string; path: string; label: string; match: (r: Route) => boolean }> = [
  { key: '1', path: '#/jobs', label: 'Jobs', match: (r) => r.view === 'jobs' || r.view === 'job' },
  { key: '2', path: '#/fairshare', label: 'Fair share', match: (r) => r.view === 'fairshare' },
  { key: '3', path: '#/workers', label: 'Workers', match: (r) => r.view === 'workers' },
  { key: '4', path: '#/throughput', label: 'Throughput', match: (r) => r.view === 'throughput' },
];

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

/** Keys: 1-4 the views, / the search, j/k the next/previous row, ? this help; Escape leaves a field. */
function useKeys(setHelp: (f: (v: boolean) => boolean) => void): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (typing(e.target)) {
        if (e.key === 'Escape') (e.target as HTMLElement).blur();
        return;
      }
      const view = VIEWS.find((v) => v.key === e.key);
      if (view) {
        location.hash = view.path;
        e.preventDefault();
      } else if (e.key === '/') {
        e.preventDefault();
        const search = parseRoute(location.hash).view === 'jobs' ? document.getElementById('search') : null;
        if (search) search.focus();
        else {
          // Another view: go to the jobs, and focus their search once it is drawn.
          location.hash = '#/jobs';
          requestAnimationFrame(() => setTimeout(() => document.getElementById('search')?.focus(), 0));
        }
      } else if (e.key === 'j' || e.key === 'k') {
        const rows = [...document.querySelectorAll<HTMLElement>('[data-row-link]')];
        if (!rows.length) return;
        const at = rows.indexOf(document.activeElement as HTMLElement);
        const next = at < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, at + (e.key === 'j' ? 1 : -1)));
        rows[next]!.focus();
        e.preventDefault();
      } else if (e.key === '?') {
        setHelp((v) => !v);
      } else if (e.key === 'Escape') {
        setHelp(() => false);
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}

function Banner({ state }: { state: LiveState }) {
  if (state === 'open' || state === 'paused') return null;
  if (state === 'connecting') return null;
  return (
    <div class="banner" role="alert" id="connection-lost">
      Connection to the server lost: reconnecting, and resuming after change {live.last ?? '?'} (nothing is missed).
    </div>
  );
}

function SignIn({ message }: { message: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(message);
  const submit = async (e: Event) => {
    e.preventDefault();
    const response = await fetch('/api/v1/me', { headers: { authorization: `Bearer ${token.trim()}` } });
    if (!response.ok) {
      setError(response.status === 429 ? 'Too many wrong tokens: wait a minute.' : 'That token is not valid.');
      return;
    }
    // The server turns the token into an HttpOnly session cookie and comes back here.
    location.href = `/?token=${encodeURIComponent(token.trim())}`;
  };
  return (
    <main class="signin">
      <h1>Sluice</h1>
      <p>
        Open the URL <code>sluice serve</code> printed (it ends in <code>?token=…</code>), or paste a token (<code>sluice users add NAME</code> prints one).
      </p>
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autofocus />
        <button type="submit">Sign in</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
    </main>
  );
}

function Help() {
  return (
    <div class="help" role="dialog" aria-label="Keyboard">
      <h2>Keyboard</h2>
      <dl>
        <dt>1 2 3 4</dt>
        <dd>Jobs, Fair share, Workers, Throughput</dd>
        <dt>/</dt>
        <dd>search jobs</dd>
        <dt>j k</dt>
        <dd>next, previous row; Enter opens it</dd>
        <dt>Tab</dt>
        <dd>every button and field</dd>
        <dt>Esc</dt>
        <dd>leave a field, close this</dd>
      </dl>
    </div>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [signIn, setSignIn] = useState<string | null | false>(false);
  const [state, setState] = useState<LiveState>(live.state);
  const [help, setHelp] = useState(false);
  const route = useRoute();
  useKeys(setHelp);
  useEffect(() => {
    get<Me>('/api/v1/me')
      .then((m) => {
        setMe(m);
        void live.start();
      })
      .catch((err) => setSignIn(err instanceof ApiError && err.status === 401 ? null : String(err.message)));
    return live.onState(setState);
  }, []);
  if (signIn !== false) return <SignIn message={signIn} />;
  if (!me) return <p class="loading">Loading…</p>;
  const signOut = async () => {
    await call('POST', '/signout').catch(() => {});
    location.href = '/';
  };
  return (
    <>
      <header>
        <a class="brand" href="#/jobs">Sluice</a>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <a href={v.path} aria-current={v.match(route) ? 'page' : undefined} title={`key ${v.key}`}>
              {v.label}
            </a>
          ))}
        </nav>
        <span class={`conn conn-${state}`} title={`live: ${state}`} aria-label={`live updates: ${state}`} id="live-state">
          {state === 'open' ? 'live' : state}
        </span>
        <span class="me" id="me">
          {me.name} <span class="role">{me.role}</span>
        </span>
        <button class="link" onClick={signOut}>
          Sign out
        </button>
      </header>
      <Banner state={state} />
      {help && <Help />}
      <main id="view">
        {route.view === 'jobs' && <JobsView me={me} params={route.params} />}
        {route.view === 'job' && <JobView me={me} id={route.id} />}
        {route.view === 'fairshare' && <FairshareView />}
        {route.view === 'workers' && <WorkersView />}
        {route.view === 'throughput' && <ThroughputView />}
      </main>
      <footer>
        Press <kbd>?</kbd> for keys.
      </footer>
    </>
  );
}

render(<App />, document.getElementById('app')!);
