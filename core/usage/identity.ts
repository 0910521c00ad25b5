import { asString } from './attributes.ts';
import { METADATA_PREFIXES } from './families.ts';
import type { Attributes, AttrValue } from './types.ts';

export interface IdentityConfig {
  lists: { api_key: string[]; user: string[]; tenant: string[]; agent: string[]; conversation: string[]; service: string[] };
  secretAttributes: readonly string[];
  required: readonly ('api_key' | 'user' | 'tenant' | 'agent' | 'conversation' | 'service')[];
  /** Extra attributes kept on the event for `match` selectors and custom scopes. */
  keep: readonly string[];
  /** Keyed hash for secret-bearing values (HMAC), injected so the core stays pure. */
  hash: (value: string) => string;
}

export const DEFAULT_IDENTITY: IdentityConfig['lists'] = {
  api_key: ['tollkeeper.api_key.id', 'api_key.id'],
  user: ['user.id', 'enduser.id'],
  tenant: ['tollkeeper.tenant.id', 'tenant.id'],
  agent: ['gen_ai.agent.id', 'gen_ai.agent.name'],
  conversation: ['gen_ai.conversation.id', 'session.id'],
  service: ['service.name'],
};

type Identity = { service: string; apiKey: string; user: string; tenant: string; agent: string; conversation: string; attributes: Record<string, string> };

/** Names a user may give the same attribute inside a family's metadata bag: api_key.id, api_key_id, apiKeyId. */
function variants(name: string): string[] {
  const snake = name.replace(/\./g, '_');
  const camel = snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const short = name.startsWith('tollkeeper.') ? [name.slice('tollkeeper.'.length)] : [];
  return [...new Set([name, snake, camel, ...short])];
}

function metadataBag(attrs: Attributes): Record<string, AttrValue> | undefined {
  // OpenInference keeps metadata as one JSON string attribute.
  const raw = attrs.metadata;
  if (typeof raw !== 'string' || raw.length > 65_536 || !raw.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return typeof v === 'object' && v !== null ? (v as Record<string, AttrValue>) : undefined;
  } catch {
    return undefined;
  }
}

function find(attrs: Attributes, resource: Attributes, names: readonly string[]): { name: string; value: string } | undefined {
  const bag = metadataBag(attrs);
  for (const source of [attrs, resource]) {
    for (const name of names) {
      const direct = asString(source[name]);
      if (direct) return { name, value: direct };
    }
    for (const name of names) {
      for (const v of variants(name)) {
        for (const prefix of METADATA_PREFIXES) {
          const s = asString(source[prefix + v]);
          if (s) return { name, value: s };
        }
        if (source === attrs && bag) {
          const s = asString(bag[v]);
          if (s) return { name, value: s };
        }
      }
    }
  }
  return undefined;
}

/** Resolves the entity ids of a span: span attributes first, then resource, then families' metadata bags. */
export function resolveIdentity(attrs: Attributes, resource: Attributes, config: IdentityConfig): { ok: true; value: Identity } | { ok: false; error: string } {
  const get = (kind: keyof IdentityConfig['lists']): string => {
    const hit = find(attrs, resource, config.lists[kind]);
    if (!hit) return '';
    const value = hit.value.slice(0, 256);
    return config.secretAttributes.includes(hit.name) ? config.hash(value) : value;
  };
  const value: Identity = {
    service: get('service') || 'unknown_service',
    apiKey: get('api_key'),
    user: get('user'),
    tenant: get('tenant'),
    agent: get('agent'),
    conversation: get('conversation'),
    attributes: {},
  };
  for (const name of config.keep) {
    const hit = find(attrs, resource, [name]);
    if (hit) value.attributes[name] = config.secretAttributes.includes(name) ? config.hash(hit.value) : hit.value.slice(0, 256);
  }
  const byKind = { api_key: value.apiKey, user: value.user, tenant: value.tenant, agent: value.agent, conversation: value.conversation, service: value.service };
  const missing = config.required.find((k) => !byKind[k]);
  if (missing) return { ok: false, error: `no ${missing} identity (looked for ${config.lists[missing].join(', ')}); identity.required lists it` };
  return { ok: true, value };
}
