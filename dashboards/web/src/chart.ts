import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.ts';

/** A one-series time chart that resizes with its box and updates in place (no flicker on refresh). */
export interface TimeChart {
  el: HTMLElement;
  update(times: readonly number[], values: readonly number[], label: string, summary: string, format: (n: number) => string): void;
  dispose(): void;
}

const HEIGHT = 220;

export function timeChart(title: string): TimeChart {
  const box = h('div', { class: 'chart-box' });
  // The canvas is not readable by screen readers: the figure's label carries the summary in words.
  const el = h('figure', { class: 'chart', role: 'img', 'aria-label': title }, box);
  let plot: uPlot | null = null;
  let fmt: (n: number) => string = String;
  let seriesLabel = '';
  const observer = new ResizeObserver(() => plot?.setSize({ width: Math.max(200, box.clientWidth), height: HEIGHT }));
  observer.observe(box);

  function create(data: uPlot.AlignedData): void {
    plot = new uPlot(
      {
        width: Math.max(200, box.clientWidth || 600),
        height: HEIGHT,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: '#3d4451', grid: { stroke: '#e3e6eb' }, ticks: { stroke: '#c9ced6' } },
          { stroke: '#3d4451', grid: { stroke: '#e3e6eb' }, ticks: { stroke: '#c9ced6' }, size: 70, values: (_u, vals) => vals.map((v) => fmt(v)) },
        ],
        series: [
          { label: 'Time (UTC)' },
          { label: seriesLabel, stroke: '#1d5fc4', width: 2, fill: 'rgba(29, 95, 196, 0.12)', points: { show: false }, value: (_u, v) => (v === null ? '—' : fmt(v)) },
        ],
      },
      data,
      box,
    );
  }

  return {
    el,
    update(times, values, label, summary, format) {
      fmt = format;
      el.setAttribute('aria-label', `${title}: ${summary}`);
      const data: uPlot.AlignedData = [[...times], [...values]];
      if (!plot || seriesLabel !== label) {
        seriesLabel = label;
        plot?.destroy();
        box.replaceChildren();
        create(data);
      } else {
        plot.setData(data);
      }
    },
    dispose() {
      observer.disconnect();
      plot?.destroy();
    },
  };
}
