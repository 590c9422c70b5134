/** Shared pieces: data loading with errors that say what to do, cursor paging, uPlot charts. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { ApiError } from './api';
import type { Page } from './types';

export interface Async<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
}

/** Runs `load` when `deps` change; the answer of an older run never overwrites a newer one. */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const run = useRef(0);
  useEffect(() => {
    const id = ++run.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => id === run.current && setState({ data, loading: false }),
      (error: unknown) => id === run.current && setState({ error, loading: false }),
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export interface Action {
  readonly busy: boolean;
  readonly error: unknown;
  /** What the last successful run said it did: the string its function returned, if any. */
  readonly message: string;
  /** Runs `act`; a failure is kept in `error` for an ErrorBox. */
  readonly run: (act: () => Promise<unknown>) => Promise<void>;
}

/** A button's or form's request: busy while it runs (so it is not sent twice), its outcome kept. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [message, setMessage] = useState('');
  const run = useCallback(async (act: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    setMessage('');
    try {
      const said = await act();
      setMessage(typeof said === 'string' ? said : '');
    } catch (x) {
      setError(x);
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, message, run };
}

/** A mistake in what was typed or chosen, found before anything was sent: its message says it all. */
export class InputError extends Error {}

/** What went wrong and what to do about it, from the API's error codes. */
export function advice(err: unknown): string {
  if (err instanceof InputError) return '';
  if (!(err instanceof ApiError)) {
    return 'The server could not be reached. Check that Serval is running (npm start) and reload.';
  }
  switch (err.status) {
    case 401:
      return 'Your session has ended: sign in again with your API key.';
    case 403:
      return 'Your role does not allow this. Ask an admin for a key with a higher role.';
    case 404:
      return 'It does not exist (or was deleted). Go back to the list and pick another.';
    case 409:
      // One code for every conflict (functions/http/errors.ts); the message above says which.
      return 'It conflicts with what is there now: it exists already, it changed meanwhile, or its stage does not allow this. Reload to see the current state; to add something new, choose another name or version.';
    case 429:
      return 'Too many requests: wait a few seconds and try again.';
    case 503:
      return 'The platform is in maintenance or briefly unavailable: try again later.';
    default:
      return err.status >= 500 ? 'The server failed: try again; if it persists, check its log.' : '';
  }
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  const next = advice(error);
  return (
    <div class="error" role="alert">
      <strong>{message}</strong>
      {next && <p>{next}</p>}
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

export function Loading() {
  return (
    <p class="loading" aria-live="polite">
      Loading…
    </p>
  );
}

/** Renders the three states of a load, or `children(data)`. */
export function Loaded<T>({
  state,
  children,
}: {
  state: Async<T>;
  children: (data: T) => ComponentChildren;
}) {
  if (state.error !== undefined && state.data === undefined)
    return <ErrorBox error={state.error} retry={state.reload} />;
  if (state.data === undefined) return <Loading />;
  return <>{children(state.data)}</>;
}

/**
 * Cursor paging over a list route: the API pages forward with opaque cursors, so going back
 * keeps the cursors of the pages already seen.
 */
export function usePaged<T>(
  load: (cursor: string | undefined) => Promise<Page<T>>,
  deps: readonly unknown[],
) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  useEffect(() => setCursors([undefined]), deps);
  const cursor = cursors[cursors.length - 1];
  const state = useAsync(() => load(cursor), [...deps, cursor]);
  const next = state.data?.nextCursor;
  return {
    state,
    page: cursors.length,
    next: next ? () => setCursors((c) => [...c, next]) : undefined,
    prev: cursors.length > 1 ? () => setCursors((c) => c.slice(0, -1)) : undefined,
  };
}

export function Pager({
  page,
  next,
  prev,
  label,
}: {
  page: number;
  next?: () => void;
  prev?: () => void;
  label: string;
}) {
  if (!next && !prev) return null;
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={prev} disabled={!prev}>
        ← Previous
      </button>
      <span>Page {page}</span>
      <button type="button" onClick={next} disabled={!next}>
        Next →
      </button>
    </nav>
  );
}

export interface Series {
  readonly label: string;
  readonly values: (number | null)[];
  readonly color: string;
  readonly bars?: boolean;
}

/**
 * A uPlot chart. `x` is seconds since the epoch for time axes; with `categories` the x values are
 * indices and the axis shows the category names (histograms).
 */
export function Chart(props: {
  title: string;
  x: number[];
  series: readonly Series[];
  time?: boolean;
  categories?: readonly string[];
  yLabel?: string;
}) {
  const el = useRef<HTMLDivElement>(null);
  const { title, x, series, time = true, categories, yLabel } = props;
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const width = () => Math.max(280, Math.min(host.clientWidth || 600, 900));
    const bars = uPlot.paths.bars?.({ size: [0.6, 60] });
    const opts: uPlot.Options = {
      title,
      width: width(),
      height: 220,
      // One point would otherwise get a range of years around it.
      scales: { x: x.length === 1 && time ? { time, range: [x[0]! - 3600, x[0]! + 3600] } : { time } },
      axes: [
        categories ? { values: (_u, ticks) => ticks.map((t) => categories[t] ?? '') } : {},
        { label: yLabel },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: s.bars ? `${s.color}55` : undefined,
          width: 2,
          paths: s.bars ? bars : undefined,
          points: { show: x.length < 40 },
          spanGaps: false,
        })),
      ],
    };
    const plot = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, host);
    const onResize = () => plot.setSize({ width: width(), height: 220 });
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      plot.destroy();
    };
  }, [title, x, series, time, categories, yLabel]);
  // uPlot cannot lay out a scale with no values at all; say so instead of drawing an empty frame.
  if (!series.some((s) => s.values.some((v) => v !== null && Number.isFinite(v)))) {
    return (
      <figure class="chart empty-chart" aria-label={title}>
        <figcaption>{title}: no data in this range.</figcaption>
      </figure>
    );
  }
  return <figure class="chart" ref={el} aria-label={title} />;
}

export function fmt(n: number | null | undefined, digits = 3): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (n !== 0 && Math.abs(n) < 1e-3) return n.toExponential(2);
  return Number(n.toFixed(digits)).toString();
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** A table's header row of column names. */
export function Head({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) => (
          <th key={c} scope="col">
            {c}
          </th>
        ))}
      </tr>
    </thead>
  );
}
