import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  label: string;
  values: Array<number | null>;
}

const PALETTE = ['#2f7ed8', '#e4572e', '#29a34a', '#a259d9', '#f0a202', '#17a2b8', '#d6336c', '#6c757d'];

/**
 * A line chart (uPlot) of series over time (seconds since the epoch); it follows the page's width and
 * colours. `span` fixes the time axis (the last hour), so that a chart with few points still reads.
 */
export function Chart({ title, times, series, id, stepped, span }: { title: string; times: number[]; series: Series[]; id: string; stepped?: boolean; span?: [number, number] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const spanRef = useRef(span);
  spanRef.current = span;
  const shape = `${series.map((s) => s.label).join('\u0000')}|${stepped ? 1 : 0}`;
  const shapeRef = useRef('');
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data = [times, ...series.map((s) => s.values)] as uPlot.AlignedData;
    if (plot.current && shapeRef.current === shape) {
      plot.current.setData(data);
      return;
    }
    plot.current?.destroy();
    shapeRef.current = shape;
    const dark = matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#c9d1d9' : '#333', grid: { stroke: dark ? '#30363d' : '#e5e5e5' }, ticks: { stroke: dark ? '#30363d' : '#ccc' } };
    plot.current = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 220,
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: PALETTE[i % PALETTE.length],
            width: 2,
            ...(stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
          })),
        ],
        axes: [axis, axis],
        scales: { x: { time: true, range: (_u, min, max) => spanRef.current ?? [min, max] } },
        legend: { live: false },
      },
      data,
      el,
    );
    const resize = () => plot.current?.setSize({ width: Math.max(280, el.clientWidth), height: 220 });
    window.addEventListener('resize', resize);
    return () => window.removeEventListener('resize', resize);
  }, [times, series, shape]);
  useEffect(() => () => plot.current?.destroy(), []);
  return (
    <figure class="chart" id={id}>
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${series.map((s) => `${s.label} ${s.values.filter((v) => v !== null).at(-1) ?? 0}`).join(', ')}`} />
    </figure>
  );
}
