/** What the demo reads back from tollkeeper's own API, the way an operator or a gateway would. */
export interface DemoTarget {
  apiUrl: string;
  adminToken: string;
  gatewayToken: string;
}

export interface SeenIncident {
  id: string;
  /** When the detector decided (its clock), epoch ms. */
  detectedAt?: number;
  entity: string;
  pattern: string;
  severity: string;
  action: string;
  explanation: string;
}

export interface SeenEntry {
  entity: string;
  action: string;
  source: string;
  reason: string;
}

const TIMEOUT_MS = 5_000;

async function getJson<T>(t: DemoTarget, path: string, token: string): Promise<T> {
  const res = await fetch(`${t.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) {
    await res.arrayBuffer();
    throw new Error(`GET ${path} answered ${res.status}${res.status === 401 || res.status === 403 ? ' (check --admin-token / --gateway-token)' : ''}`);
  }
  return (await res.json()) as T;
}

/** Polls the revocation list (deltas since the last version seen) and the open incidents; reports what is new. */
export function createWatcher(t: DemoTarget) {
  let version: number | undefined;
  const seenIncidents = new Set<string>();

  return {
    /** Remembers what is already there, so only what the demo causes is reported. */
    async baseline(): Promise<void> {
      const list = await getJson<{ version: number }>(t, '/v1/revocations', t.gatewayToken);
      version = list.version;
      for (const i of (await getJson<{ incidents: { id: string }[] }>(t, '/api/incidents?status=open', t.adminToken)).incidents) seenIncidents.add(i.id);
    },
    /** Entries added to the revocation list since the last call, with the list's version. */
    async newEntries(): Promise<{ version: number; added: SeenEntry[] }> {
      const body = await getJson<{ version: number; added?: { kind: string; id: string; action: string; source: string; reason: string }[]; entries?: { kind: string; id: string; action: string; source: string; reason: string }[] }>(
        t,
        version === undefined ? '/v1/revocations' : `/v1/revocations?since=${version}`,
        t.gatewayToken,
      );
      version = body.version;
      const added = body.added ?? body.entries ?? [];
      return { version: body.version, added: added.map((e) => ({ entity: `${e.kind} ${e.id}`, action: e.action, source: e.source, reason: e.reason })) };
    },
    /** Incidents opened since the last call. */
    async newIncidents(): Promise<SeenIncident[]> {
      const body = await getJson<{ incidents: { id: string; entity: { kind: string; id: string }; pattern: string; severity: string; action: string; explanation: string; detected_at: string | null }[] }>(t, '/api/incidents?status=open', t.adminToken);
      const fresh = body.incidents.filter((i) => !seenIncidents.has(i.id));
      for (const i of fresh) seenIncidents.add(i.id);
      return fresh.map((i) => ({ id: i.id, entity: `${i.entity.kind} ${i.entity.id}`, pattern: i.pattern, severity: i.severity, action: i.action, explanation: i.explanation, ...(i.detected_at ? { detectedAt: Date.parse(i.detected_at) } : {}) }));
    },
    /** Spend per API key over the last `seconds`, biggest first (from the stored usage). */
    async spend(now: number, seconds: number): Promise<{ total: number; top: { id: string; cost: number }[] }> {
      const from = new Date(now - seconds * 1000).toISOString();
      const body = await getJson<{ entities: { id: string; cost_usd: number }[] }>(t, `/api/usage/top?kind=api_key&limit=100&from=${encodeURIComponent(from)}`, t.adminToken);
      const top = body.entities.map((e) => ({ id: e.id, cost: e.cost_usd })).sort((a, b) => b.cost - a.cost);
      return { total: top.reduce((a, e) => a + e.cost, 0), top };
    },
    /** What a gateway's forward-auth check answers for a request made with this API key. */
    async gatewayAnswer(apiKey: string): Promise<number> {
      const res = await fetch(`${t.apiUrl}/v1/authorize`, { headers: { authorization: `Bearer ${t.gatewayToken}`, 'x-tollkeeper-api-key': apiKey }, signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.arrayBuffer();
      return res.status;
    },
  };
}
export type Watcher = ReturnType<typeof createWatcher>;
