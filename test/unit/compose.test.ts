// docker-compose.yml cannot be run on the development machines (no Docker): this checks what can be checked
// without it — services, ports, volumes, health checks, start order, and that every file it refers to exists
// and fits (provisioning paths, datasource uid, CLI commands, environment variables, the load balancer config).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compose, read, ROOT, type Service } from '../helpers/compose-file.ts';


const services = compose.services;
const LONG_RUNNING = ['clickhouse', 'collector', 'otlp-lb', 'detector', 'grafana', 'mailpit'];

function mounts(s: Service): { source: string; target: string }[] {
  return (s.volumes ?? []).map((v) => {
    const [source, target] = v.split(':') as [string, string];
    return { source, target };
  });
}

describe('docker-compose.yml', () => {
  it('runs ClickHouse, the migration, collectors behind a load balancer, the detector, Grafana and one Mailpit', () => {
    expect(Object.keys(services).sort()).toEqual([...LONG_RUNNING, 'migrate'].sort());
    expect(services.clickhouse!.image).toMatch(/^clickhouse\/clickhouse-server:\d+\.(3|8)$/); // an LTS line (x.3, x.8)
    expect(services.grafana!.environment!.GF_PLUGINS_PREINSTALL_SYNC).toMatch(/^grafana-clickhouse-datasource@/);
    expect(services.grafana!.environment!.GF_AUTH_ANONYMOUS_ENABLED).toBe('true');
    expect(services.grafana!.environment!.GF_AUTH_ANONYMOUS_ORG_ROLE).toBe('Viewer');
    for (const name of ['migrate', 'collector', 'detector']) expect(services[name]!.build, name).toBe('.');
    expect(existsSync(join(ROOT, 'Dockerfile'))).toBe(true);
  });

  it('publishes the documented ports; collectors only through the load balancer', () => {
    const published = Object.fromEntries(Object.entries(services).map(([n, s]) => [n, s.ports ?? []]));
    expect(published).toMatchObject({ 'otlp-lb': ['4318:4318'], detector: ['8080:8080', '4320:4320'], grafana: ['3000:3000'], mailpit: ['8025:8025'], clickhouse: ['8123:8123'], collector: [] });
    expect(services.collector!.expose).toEqual(['4318']);
    for (const url of ['http://localhost:4318', 'http://localhost:8080', 'http://localhost:4320', 'http://localhost:3000', 'http://localhost:8025']) expect(read('README.md')).toContain(url);
  });

  it('keeps ClickHouse data in a named volume', () => {
    const data = mounts(services.clickhouse!).find((m) => m.target === '/var/lib/clickhouse');
    expect(data && compose.volumes).toBeTruthy();
    expect(Object.keys(compose.volumes)).toContain(data!.source);
    for (const s of Object.values(services)) for (const m of mounts(s)) if (!m.source.startsWith('.')) expect(Object.keys(compose.volumes), m.source).toContain(m.source);
  });

  it('every long-running service has a health check; start order waits on health or on the migration', () => {
    for (const name of LONG_RUNNING) expect(services[name]!.healthcheck?.test.length, name).toBeGreaterThan(0);
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        if (condition === 'service_healthy') expect(services[dep]!.healthcheck, `${name} waits for ${dep} to be healthy`).toBeDefined();
        else expect([condition, dep]).toEqual(['service_completed_successfully', 'migrate']);
      }
    }
    // The Node health checks are valid scripts asking the role's own port.
    for (const [name, port] of [['collector', 4318], ['detector', 8080]] as const) {
      const [, , flag, script] = services[name]!.healthcheck!.test as [string, string, string, string];
      expect(flag).toBe('-e');
      expect(() => new Script(script)).not.toThrow();
      expect(script).toContain(`http://127.0.0.1:${port}/readyz`);
    }
  });

  it('every file it mounts exists, and the Grafana provisioning finds the dashboards and the datasource they use', () => {
    for (const s of Object.values(services)) {
      for (const m of mounts(s)) if (m.source.startsWith('.')) expect(existsSync(join(ROOT, m.source)), m.source).toBe(true);
    }
    const g = mounts(services.grafana!);
    const provisioning = g.find((m) => m.target === '/etc/grafana/provisioning')!;
    const provider = parse(readFileSync(join(ROOT, provisioning.source, 'dashboards/tollkeeper.yaml'), 'utf8')) as { providers: { options: { path: string } }[] };
    const dashboardsMount = g.find((m) => m.target === provider.providers[0]!.options.path)!;
    expect(dashboardsMount, 'the provider path is mounted').toBeDefined();
    const files = readdirSync(join(ROOT, dashboardsMount.source)).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    const home = services.grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
    expect(files.map((f) => `${dashboardsMount.target}/${f}`)).toContain(home);
    const ds = parse(readFileSync(join(ROOT, provisioning.source, 'datasources/clickhouse.yaml'), 'utf8')) as { datasources: { uid: string; jsonData: { host: string; port: number }; secureJsonData: { password: string } }[] };
    const { uid, jsonData, secureJsonData } = ds.datasources[0]!;
    expect(`${jsonData.host}:${jsonData.port}`).toBe('clickhouse:8123');
    expect(services.grafana!.environment![secureJsonData.password.replace(/^\$/, '')], 'the password variable reaches Grafana').toBeDefined();
    for (const f of files) expect(readFileSync(join(ROOT, dashboardsMount.source, f), 'utf8')).toContain(`"uid": "${uid}"`);
    const config = mounts(services.detector!).find((m) => m.target === '/config/tollkeeper.yaml')!;
    expect(statSync(join(ROOT, config.source)).isFile()).toBe(true);
  });

  it('the roles run CLI commands that exist, with environment variables the config loader reads', () => {
    const cli = read('bin/usage.ts'); // the CLI's command list
    // Wherever the config loading lives (core/config, app), it names every variable it reads.
    const loader = ['core/config', 'app']
      .flatMap((dir) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.ts')).map((f) => read(`${dir}/${f}`)))
      .join('\n');
    for (const name of ['migrate', 'collector', 'detector']) {
      const s = services[name]!;
      expect(cli).toMatch(new RegExp(`\\n  ${s.command![0]}\\s`));
      for (const key of Object.keys(s.environment ?? {})) expect(loader, key).toMatch(new RegExp(`\\b${key}\\b`));
    }
    expect(services.detector!.environment!.TOLLKEEPER_SMTP_URL).toBe('smtp://mailpit:1025');
  });

  it.skipIf(!existsSync('/usr/sbin/nginx'))('the load balancer configuration is valid nginx', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tk-lb-'));
    try {
      const lb = mounts(services['otlp-lb']!).find((m) => m.target === '/etc/nginx/conf.d/default.conf')!;
      writeFileSync(join(dir, 'nginx.conf'), `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n  include ${join(ROOT, lb.source)};\n}\n`);
      const out = execFileSync('/usr/sbin/nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
