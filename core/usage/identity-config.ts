// What an identity config is, and the default names; the lookup compiled from it is identity-plan.ts, the
// resolution of one span identity.ts.

export type Kind = 'api_key' | 'user' | 'tenant' | 'agent' | 'conversation' | 'service';

export interface IdentityConfig {
  lists: { api_key: string[]; user: string[]; tenant: string[]; agent: string[]; conversation: string[]; service: string[] };
  secretAttributes: readonly string[];
  required: readonly Kind[];
  /** Extra attributes kept on the event for `match` selectors and custom scopes. */
  keep: readonly string[];
  /** Keyed hash for secret-bearing values (HMAC), injected so the core stays pure. */
  hash: (value: string) => string;
}

/**
 * The default attribute names per kind, plus the names families use for the same ids: `session.id` (OpenInference) for conversation and
 * `customer.id` for tenant (Traceloop's standard association key `customer_id` is the customer account, i.e. the tenant).
 * Under metadata prefixes each name also matches its snake_case and camelCase forms (`api_key_id`, `apiKeyId`).
 */
export const DEFAULT_IDENTITY: IdentityConfig['lists'] = {
  // LiteLLM's proxy stamps its virtual key (hashed), its team and the request's end user on its spans as metadata.*.
  api_key: ['tollkeeper.api_key.id', 'api_key.id', 'metadata.user_api_key_hash'],
  // The OpenAI `user` parameter (the caller's end user) as OpenLLMetry (`llm.user`) and OpenLIT (`gen_ai.request.user`) record it.
  user: ['user.id', 'enduser.id', 'metadata.user_api_key_end_user_id', 'llm.user', 'gen_ai.request.user'],
  tenant: ['tollkeeper.tenant.id', 'tenant.id', 'customer.id', 'metadata.user_api_key_team_id'],
  agent: ['gen_ai.agent.id', 'gen_ai.agent.name'],
  conversation: ['gen_ai.conversation.id', 'session.id'],
  service: ['service.name'],
};

/** Entity ids of one span, '' when absent. */
export interface Identity {
  service: string;
  apiKey: string;
  user: string;
  tenant: string;
  agent: string;
  conversation: string;
  attributes: Record<string, string>;
}

/** The kinds a span can inherit from its ancestors (service is per process, never inherited), in bit order. */
export const INHERITABLE = ['apiKey', 'user', 'tenant', 'agent', 'conversation'] as const;
export type InheritableKind = (typeof INHERITABLE)[number];
export type InheritableIdentity = Record<InheritableKind, string>;
