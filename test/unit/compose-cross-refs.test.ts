// docker-compose.yml, the Dockerfile and the Grafana provisioning checked against the code and each other, beyond
// compose.test.ts (shape, ports, mounts, start order): the flags and variables are ones the CLI takes, every role
// reads one config file, the store URL and the datasource reach the ClickHouse service as configured, the pinned
// server is not older than the engine the tests use, and the image builds from the lock file as it is.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compose, read, ROOT, type Service } from '../helpers/compose-file.ts';
import { flagsNotTaken, COMMAND_NAMES } from '../../bin/usage.ts';
import { ENV_NAMES } from '../../core/config/env-names.ts';
import { loadConfig } from '../../core/config/load.ts';

const services = compose.services;
const datasources = (parse(read('dashboards/grafana/provisioning/datasources/clickhouse.yaml')) as { datasources: Datasource[] }).datasources;
const providers = (parse(read('dashboards/grafana/provisioning/dashboards/tollkeeper.yaml')) as { providers: { options: { path: string } }[] }).providers;
const defaults = (() => {
  const r = loadConfig({ source: '(defaults)', env: {}, flags: {} });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
})();

interface Datasource {
  uid: string;
  type: string;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

/** The services that run tollkeeper (built from the Dockerfile). */
const tollkeeper = Object.entries(services).filter(([, s]) => s.build !== undefined);
/** `${VAR:-default}` as compose expands it when VAR is not set. */
const expand = (v: string) => v.replace(/\$\{(\w+):-([^}]*)\}/g, (_m, _n, d: string) => d);
/** The host paths of a service's bind mounts, and where each lands in the container. */
const mounts = (s: Service) => (s.volumes ?? []).map((v) => v.split(':')).filter(([src]) => src!.startsWith('./')).map(([src, dst]) => ({ src: src!, dst: dst! }));

describe('docker-compose.yml', () => {
  it('runs tollkeeper with commands, flags and environment variables the CLI knows', () => {
    expect(tollkeeper.map(([n]) => n).sort()).toEqual(['collector', 'detector', 'migrate']);
    for (const [name, s] of tollkeeper) {
      const [command, ...args] = s.command ?? [];
      expect(COMMAND_NAMES, name).toContain(command);
      const flags = args.filter((a) => a.startsWith('--')).map((a) => a.slice(2));
      expect(flagsNotTaken(command!, flags), name).toEqual([]);
      for (const key of Object.keys(s.environment ?? {}).filter((k) => k.startsWith('TOLLKEEPER_'))) expect(ENV_NAMES, `${name}: ${key}`).toContain(key);
    }
    for (const m of read('Dockerfile').matchAll(/^ENV (TOLLKEEPER_\w+)=/gm)) expect(ENV_NAMES).toContain(m[1]);
  });

  it('gives every tollkeeper process the same configuration file, and the file exists', () => {
    // Collectors price, map identities and keep the attributes policies select on from the config, not only the detector.
    const configs = tollkeeper.map(([name, s]) => {
      const path = s.environment?.TOLLKEEPER_CONFIG ?? s.command?.[s.command.indexOf('--config') + 1];
      const mount = mounts(s).find((m) => m.dst === path);
      expect(mount, `${name}: a config file mounted at ${path}`).toBeDefined();
      expect(existsSync(join(ROOT, mount!.src))).toBe(true);
      return `${mount!.src} -> ${path}`;
    });
    expect(new Set(configs).size).toBe(1);
    const file = read(mounts(tollkeeper[0]![1])[0]!.src);
    const env = Object.fromEntries(Object.entries(tollkeeper[0]![1].environment ?? {}).map(([k, v]) => [k, expand(v)]));
    const loaded = loadConfig({ source: 'compose', fileText: file, env, flags: { host: '0.0.0.0' } });
    expect(loaded.ok ? [] : loaded.errors).toEqual([]);
  });

  it('points the store, health checks, load balancer and published ports at the ports the roles listen on', () => {
    const ch = services.clickhouse!;
    const url = new URL(expand(services.detector!.environment!.TOLLKEEPER_CLICKHOUSE_URL!));
    expect([url.hostname, url.port, url.username]).toEqual(['clickhouse', '8123', ch.environment!.CLICKHOUSE_USER]);
    expect(url.password).toBe(expand(ch.environment!.CLICKHOUSE_PASSWORD!));
    expect(ch.environment!.CLICKHOUSE_DB).toBe(defaults.store.clickhouse?.database ?? 'tollkeeper');
    const otlp = String(defaults.server.otlp_port);
    const api = String(defaults.server.api_port);
    expect(services.collector!.expose).toEqual([otlp]);
    expect(services.collector!.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${otlp}/readyz`);
    expect(services.detector!.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${api}/readyz`);
    expect(services.detector!.ports).toEqual([`${api}:${api}`, `${defaults.gateway.port}:${defaults.gateway.port}`]);
    expect(read('deploy/otlp-load-balancer.conf')).toContain(`http://collector:${otlp}`);
  });

  it('pins a ClickHouse server no older than the engine the tests run every statement on', () => {
    const pinned = /clickhouse-server:(\d+)\.(\d+)/.exec(services.clickhouse!.image!)!;
    const engine = /^(\d+)\.(\d+)/.exec((JSON.parse(read('node_modules/@chdb/lib-linux-x64-gnu/package.json')) as { version: string }).version)!;
    expect(Number(pinned[1]) * 100 + Number(pinned[2])).toBeGreaterThanOrEqual(Number(engine[1]) * 100 + Number(engine[2]));
  });
});

describe('Grafana provisioning', () => {
  const grafana = services.grafana!;
  const ds = datasources[0]!;

  it('installs the plugin the datasource uses and connects it to the compose ClickHouse', () => {
    const install = grafana.environment!.GF_PLUGINS_PREINSTALL_SYNC ?? grafana.environment!.GF_INSTALL_PLUGINS;
    expect(install).toMatch(new RegExp(`^${ds.type}@\\d+\\.\\d+\\.\\d+$`));
    const ch = services.clickhouse!.environment!;
    // The plugin's 4.x fields: host/port/protocol/username/defaultDatabase, the password in secureJsonData.
    expect(ds.jsonData).toMatchObject({ host: 'clickhouse', port: 8123, protocol: 'http', username: ch.CLICKHOUSE_USER, defaultDatabase: ch.CLICKHOUSE_DB });
    expect(ds.secureJsonData.password).toBe('$CLICKHOUSE_PASSWORD');
    expect(grafana.environment!.CLICKHOUSE_PASSWORD).toBe(ch.CLICKHOUSE_PASSWORD);
  });

  it('every datasource reference of every dashboard is the provisioned one, by type and uid', () => {
    const dashboards = mounts(grafana).find((m) => m.dst === providers[0]!.options.path);
    const files = readdirSync(join(ROOT, dashboards!.src)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const refs = new Set<string>();
      JSON.stringify(JSON.parse(read(join(dashboards!.src, f))), (k, v: unknown) => {
        if (k === 'datasource' && v && typeof v === 'object') refs.add(JSON.stringify(v));
        return v;
      });
      expect([...refs], f).toEqual([JSON.stringify({ type: ds.type, uid: ds.uid })]);
    }
  });
});
describe('Dockerfile', () => {
  it('installs with a command the lock file satisfies', () => {
    // `npm ci` refuses a lock that lacks an optional dependency of a locked package (chdb's other platforms are
    // not in it); `npm install` installs from the lock and skips them, as .ci/run does.
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { optionalDependencies?: Record<string, string> }> };
    const missing = Object.values(lock.packages).flatMap((p) => Object.keys(p.optionalDependencies ?? {})).filter((d) => !lock.packages[`node_modules/${d}`]);
    const install = /^RUN (npm \w+)/m.exec(read('Dockerfile'))?.[1];
    expect(install === 'npm ci' ? missing : []).toEqual([]);
  });
});
