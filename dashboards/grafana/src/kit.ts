// A small typed builder for the dashboards: every object is checked against Grafana's own dashboard types
// (@grafana/schema), so a misspelt field or a wrong shape fails the type check before Grafana ever sees it.
import {
  FieldColorModeId,
  ThresholdsMode,
  VariableHide,
  VariableRefresh,
  VariableSort,
  type AnnotationQuery,
  type Dashboard,
  type DataQuery,
  type DataSourceRef,
  type FieldConfigSource,
  type Panel,
  type RowPanel,
  type Threshold,
  type VariableModel,
} from '@grafana/schema';

/** The datasource that provisioning/datasources/clickhouse.yaml creates. */
export const DATASOURCE: DataSourceRef = { type: 'grafana-clickhouse-datasource', uid: 'tollkeeper-clickhouse' };

/** How the plugin shapes a result: a time series (long rows become one series per label) or a table. */
export const Format = { TimeSeries: 0, Table: 1 } as const;
export type Format = (typeof Format)[keyof typeof Format];

/** A query of the ClickHouse plugin in its SQL editor (the plugin's own fields on top of Grafana's DataQuery). */
// A type alias (not an interface) so it also fits the panel's `targets: Record<string, unknown>[]`.
export type ClickHouseQuery = Pick<DataQuery, 'refId' | 'queryType'> & { datasource: DataSourceRef; editorType: 'sql'; format: Format; rawSql: string };

export function sql(rawSql: string, format: Format, refId = 'A'): ClickHouseQuery {
  return { datasource: DATASOURCE, editorType: 'sql', format, queryType: format === Format.Table ? 'table' : 'timeseries', rawSql: rawSql.trim(), refId };
}

/**
 * `$__conditionalAll`: the filter applies unless the variable is on "All" (then the plugin writes 1=1). The picked
 * values are hex (see `pickable`): Grafana splices them into the SQL and its quoting escapes `'` but not `\`, so a
 * raw id sent in a span could end the string literal and run its own SQL. Hex has neither.
 */
export function whenPicked(column: string, variable: string): string {
  return `$__conditionalAll(${column} IN (SELECT unhex(arrayJoin([\${${variable}:singlequote}]))), $${variable})`;
}

/**
 * The columns of a query variable over `column`: the value Grafana puts into the SQL (the id in hex) and the text
 * it shows (the id). The ClickHouse plugin takes a two-column answer as value, then text.
 */
export function pickable(column: string): string {
  return `hex(${column}) AS value, ${column} AS text`;
}

export function steps(...s: [string, number | null][]): { mode: ThresholdsMode; steps: Threshold[] } {
  return { mode: ThresholdsMode.Absolute, steps: s.map(([color, value]) => ({ color, value })) };
}

export interface PanelSpec {
  type: 'timeseries' | 'stat' | 'table' | 'bargauge' | 'barchart';
  title: string;
  description: string;
  query: string;
  format: Format;
  w: number;
  h: number;
  unit?: string;
  /** Stacked areas (timeseries) or bars. */
  stack?: 'areas' | 'bars';
  /** Series name: a label the plugin made from a string column, e.g. `${__field.labels.api_key}`. */
  displayName?: string;
  thresholds?: { mode: ThresholdsMode; steps: Threshold[] };
  min?: number;
  max?: number;
  /** The smallest time bucket the panel asks for (the rollup is per minute; health rows every 10 s). */
  interval?: string;
  options?: Record<string, unknown>;
  overrides?: FieldConfigSource['overrides'];
}

function fieldConfig(p: PanelSpec): FieldConfigSource {
  const custom: Record<string, unknown> = {};
  if (p.type === 'timeseries') {
    Object.assign(custom, { drawStyle: p.stack === 'bars' ? 'bars' : 'line', fillOpacity: p.stack ? 60 : 10, lineWidth: 1, showPoints: 'never', spanNulls: true });
    if (p.stack) custom.stacking = { mode: 'normal', group: 'A' };
  }
  if (p.type === 'table') custom.cellOptions = { type: 'auto' };
  return {
    defaults: {
      custom,
      ...(p.unit ? { unit: p.unit } : {}),
      ...(p.displayName ? { displayName: p.displayName } : {}),
      ...(p.min !== undefined ? { min: p.min } : {}),
      ...(p.max !== undefined ? { max: p.max } : {}),
      thresholds: p.thresholds ?? steps(['green', null]),
      color: { mode: p.thresholds ? FieldColorModeId.Thresholds : FieldColorModeId.PaletteClassic },
    },
    overrides: p.overrides ?? [],
  };
}

function defaultOptions(p: PanelSpec): Record<string, unknown> {
  switch (p.type) {
    case 'timeseries':
      return { legend: { displayMode: 'table', placement: 'right', showLegend: true, calcs: ['sum'] }, tooltip: { mode: 'multi', sort: 'desc' } };
    case 'stat':
      return { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none', textMode: 'auto' };
    case 'bargauge':
      return { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: true }, orientation: 'horizontal', displayMode: 'gradient', showUnfilled: true };
    case 'table':
      return { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } };
    case 'barchart':
      return { orientation: 'horizontal', showValue: 'auto', stacking: 'normal', legend: { displayMode: 'list', placement: 'bottom', showLegend: true } };
  }
}

export type Row = { title: string; panels: PanelSpec[] };

/** Lays panels out left to right in rows of 24 columns; each row starts with a (non-collapsed) row header. */
export function layout(rows: Row[]): (Panel | RowPanel)[] {
  const out: (Panel | RowPanel)[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    out.push({ type: 'row', id: id++, title: row.title, collapsed: false, panels: [], gridPos: { h: 1, w: 24, x: 0, y } });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      if (x + p.w > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      out.push({
        type: p.type,
        id: id++,
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { h: p.h, w: p.w, x, y },
        ...(p.interval ? { interval: p.interval } : {}),
        targets: [sql(p.query, p.format)],
        fieldConfig: fieldConfig(p),
        options: { ...defaultOptions(p), ...p.options },
      });
      x += p.w;
      rowHeight = Math.max(rowHeight, p.h);
    }
    y += rowHeight;
  }
  return out;
}

/** A multi-value query variable with an "All" option, refreshed when the time range changes. */
export function queryVariable(name: string, label: string, query: string): VariableModel {
  return {
    type: 'query',
    name,
    label,
    datasource: DATASOURCE,
    query: query.trim(),
    multi: true,
    includeAll: true,
    current: { selected: true, text: ['All'], value: ['$__all'] },
    options: [],
    refresh: VariableRefresh.onTimeRangeChanged,
    sort: VariableSort.alphabeticalAsc,
    hide: VariableHide.dontHide,
    regex: '',
    skipUrlSync: false,
  };
}

/** A single-choice custom variable: `options` are value : text pairs; the first is the default. */
export function customVariable(name: string, label: string, options: [string, string][]): VariableModel {
  const first = options[0]!;
  return {
    type: 'custom',
    name,
    label,
    query: options.map(([v, t]) => `${t} : ${v}`).join(','),
    multi: false,
    includeAll: false,
    current: { selected: true, text: first[1], value: first[0] },
    options: options.map(([v, t], i) => ({ selected: i === 0, text: t, value: v })),
    hide: VariableHide.dontHide,
    skipUrlSync: false,
  };
}

/** An annotation query drawn on the panels with the given titles (resolved to ids by `dashboard`). */
export interface AnnotationSpec {
  name: string;
  iconColor: string;
  query: string;
  panelTitles: string[];
}

export function dashboard(o: { uid: string; title: string; description: string; tags: string[]; time: string; rows: Row[]; variables: VariableModel[]; annotations?: AnnotationSpec[] }): Dashboard {
  const panels = layout(o.rows);
  const idOf = (title: string) => {
    const p = panels.find((x) => x.title === title);
    if (!p?.id) throw new Error(`annotation refers to panel ${JSON.stringify(title)}, which the dashboard ${o.uid} does not have`);
    return p.id;
  };
  const annotations: AnnotationQuery[] = (o.annotations ?? []).map((a) => ({
    name: a.name,
    datasource: DATASOURCE,
    enable: true,
    iconColor: a.iconColor,
    // Grafana's type still describes the built-in annotation source; its fields are ignored by other datasources.
    target: { limit: 100, matchAny: false, tags: [], type: 'dashboard', ...sql(a.query, Format.Table, 'Anno') },
    filter: { exclude: false, ids: a.panelTitles.map(idOf) },
  }));
  return {
    uid: o.uid,
    title: o.title,
    description: o.description,
    tags: o.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 42,
    time: { from: o.time, to: 'now' },
    refresh: '1m',
    timezone: 'browser',
    fiscalYearStartMonth: 0,
    links: [],
    panels,
    templating: { list: o.variables },
    annotations: { list: annotations },
  };
}
