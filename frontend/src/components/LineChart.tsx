import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useElementSize } from "../hooks/useElementSize";
import { loneIndexes } from "../lib/sessionSeries";

export interface Series {
  label: string;
  colour: string;
  values: (number | null)[];
  dash?: number[];
}

interface Props {
  title: string;
  x: number[];
  series: Series[];
  height?: number;
  xRange?: [number, number];
  yRange?: [number, number];
  xLabel?: string;
  formatY?: (v: number) => string;
  integerX?: boolean; // ticks on whole numbers only (epochs)
  /** Draw a dot where a value has nulls on both sides (a gap never becomes a line, so such a value has none). */
  loneDots?: boolean;
}

const AXIS = { stroke: "#94a3b8", grid: { stroke: "rgba(148,163,184,0.12)" }, ticks: { stroke: "rgba(148,163,184,0.25)" } };

/** uPlot's points filter: the lone values of the series, or none. */
function dotsAt(u: uPlot, seriesIdx: number): number[] | null {
  const found = loneIndexes(u.data[seriesIdx] as (number | null | undefined)[]);
  return found.length ? found : null;
}

/** A small line chart (uPlot) that resizes with its container; the legend names every series in text. */
export function LineChart(
  { title, x, series, height = 160, xRange, yRange, xLabel, formatY, integerX, loneDots }: Props,
) {
  const [box, setBox] = useState<HTMLDivElement | null>(null);
  const plot = useRef<uPlot | null>(null);
  const { width } = useElementSize(box);
  const shape = series.map((s) => s.label + s.colour).join("|")
    + JSON.stringify([xRange, yRange, xLabel, height, integerX, loneDots]);

  useEffect(() => {
    const el = box;
    if (!el || width <= 0) return;
    const opts: uPlot.Options = {
      width,
      height,
      legend: { show: true, live: false },
      cursor: { show: false },
      scales: {
        x: { time: false, ...(xRange ? { range: xRange } : {}) },
        y: yRange ? { range: yRange } : {},
      },
      axes: [
        { ...AXIS, label: xLabel, labelSize: xLabel ? 18 : 0, size: 28,
          ...(integerX ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] } : {}) },
        { ...AXIS, size: 50, values: formatY ? (_u, ticks) => ticks.map(formatY) : undefined },
      ],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 2, dash: s.dash, spanGaps: false,
                                           points: { show: false, size: 5, fill: s.colour,
                                                     filter: loneDots ? dotsAt : null } }))],
    };
    const chart = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = chart;
    return () => {
      chart.destroy();
      plot.current = null;
    };
    // Rebuilt only when the chart's shape changes; data flows through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, width, box]);

  useEffect(() => {
    // Scales must be recomputed on every update (fixed ranges stay fixed): without that, uPlot keeps
    // drawing only the index window of the first data it saw.
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData, true);
  }, [x, series]);

  return <div className="chart" ref={setBox} role="figure" aria-label={title} />;
}
