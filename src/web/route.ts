import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { view: 'jobs'; params: URLSearchParams }
  | { view: 'job'; id: string }
  | { view: 'fairshare' }
  | { view: 'workers' }
  | { view: 'throughput' };

/** The view a location hash names: #/jobs?status=Running, #/job/ID, #/fairshare, #/workers, #/throughput. */
export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'job' && parts[1]) return { view: 'job', id: decodeURIComponent(parts[1]) };
  if (parts[0] === 'fairshare') return { view: 'fairshare' };
  if (parts[0] === 'workers') return { view: 'workers' };
  if (parts[0] === 'throughput') return { view: 'throughput' };
  return { view: 'jobs', params: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Calls `fn` every `ms` while the tab is shown (and once at once); stops while it is hidden, catches up when shown. */
export function usePoll(fn: () => void, ms: number, deps: unknown[] = []): void {
  useEffect(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      clearInterval(timer);
      if (document.hidden) return;
      fn();
      timer = setInterval(fn, ms);
    };
    document.addEventListener('visibilitychange', start);
    start();
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', start);
    };
  }, deps);
}

/** The time now, ticking every second while the tab is shown (elapsed times of running jobs). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  usePoll(() => setNow(Date.now()), ms);
  return now;
}
