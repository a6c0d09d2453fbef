/**
 * A time-series chart (uPlot on a canvas). `stacked` draws each series on top of the ones before it
 * (cumulative sums, filled), while the legend and hover still show each series' own value. uPlot
 * sizes its elements through the CSSOM (element.style), which the Content-Security-Policy allows;
 * labels go into the legend as text.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  readonly label: string;
  readonly values: readonly number[];
}

export interface ChartProps {
  /** Seconds since the epoch, ascending. */
  readonly times: readonly number[];
  readonly series: readonly ChartSeries[];
  readonly stacked?: boolean;
  /** The accessible name of the chart. */
  readonly title: string;
  readonly height?: number;
}

const PALETTE = ['#d9480f', '#1971c2', '#2f9e44', '#ae3ec9', '#f08c00', '#0c8599', '#e03131', '#5c7cfa'];

function colorOf(index: number): string {
  return PALETTE[index % PALETTE.length] ?? '#888888';
}

/** Series in drawing order: for a stack, cumulative sums from the top one down, so each fill shows. */
function drawn(props: ChartProps): { data: uPlot.AlignedData; series: uPlot.Series[] } {
  const times = Float64Array.from(props.times);
  if (props.stacked !== true) {
    return {
      data: [times, ...props.series.map((s) => Float64Array.from(s.values))],
      series: props.series.map((s, i) => ({ label: s.label, stroke: colorOf(i), width: 2 })),
    };
  }
  const sums: Float64Array[] = [];
  let running = new Float64Array(times.length);
  for (const s of props.series) {
    running = running.map((value, i) => value + (s.values[i] ?? 0));
    sums.push(running);
  }
  const order = props.series.map((_, i) => i).reverse();
  return {
    data: [times, ...order.map((i) => sums[i] ?? new Float64Array(times.length))],
    series: order.map((i) => ({
      label: props.series[i]?.label ?? '',
      stroke: colorOf(i),
      fill: `${colorOf(i)}99`,
      width: 1,
      value: (_u: uPlot, _v: number | null, _si: number, index: number | null) =>
        index === null ? '–' : String(props.series[i]?.values[index] ?? 0),
    })),
  };
}

/** Whether the system theme is dark, following changes (the axes are drawn in the text colour). */
function useDarkScheme(): boolean {
  const query = '(prefers-color-scheme: dark)';
  const [dark, setDark] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const media = matchMedia(query);
    const changed = (): void => setDark(media.matches);
    media.addEventListener('change', changed);
    return () => media.removeEventListener('change', changed);
  }, []);
  return dark;
}

export function TimeChart(props: ChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const dark = useDarkScheme();
  const key = `${props.series.map((s) => s.label).join('\u0000')}|${props.stacked}|${dark}`;
  const plot = useRef<{ key: string; chart: uPlot } | undefined>(undefined);

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const { data, series } = drawn(props);
    if (plot.current?.key === key) {
      plot.current.chart.setData(data);
      return;
    }
    plot.current?.chart.destroy();
    const ink = getComputedStyle(element).color;
    const grid = { stroke: 'rgba(128,128,128,0.25)', width: 1 };
    const chart = new uPlot(
      {
        width: Math.max(240, element.clientWidth),
        height: props.height ?? 240,
        series: [{}, ...series],
        axes: [
          { stroke: ink, grid, ticks: grid },
          { stroke: ink, grid, ticks: grid, size: 56 },
        ],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      element,
    );
    plot.current = { key, chart };
  });

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const observer = new ResizeObserver(() => {
      const chart = plot.current?.chart;
      if (chart !== undefined) chart.setSize({ width: Math.max(240, element.clientWidth), height: chart.height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.current?.chart.destroy();
      plot.current = undefined;
    };
  }, []);

  return <div class="chart" role="img" aria-label={props.title} ref={container} />;
}
