import { Type } from '@sinclair/typebox';
import { DurationMs, Port, strict, Url, withDefault } from './schema-parts.ts';

/* Where tollkeeper listens, where it stores usage, and the tokens that guard its HTTP surfaces. */

export const serverSection = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1' }),
    otlp_port: withDefault(Port, 4318),
    api_port: withDefault(Port, 8080),
    public_url: Type.Optional(Url),
    /** Listener timeouts: request head, whole request, idle keep-alive, silent socket (0 = off), an API replay. */
    timeouts: Type.Object(
      {
        headers: withDefault(DurationMs, '10s'),
        request: withDefault(DurationMs, '30s'),
        idle: withDefault(DurationMs, '65s'),
        socket: withDefault(DurationMs, '120s'),
        /** Longest POST /api/replay: answered before a silent socket is closed under it. */
        replay: withDefault(DurationMs, '100s'),
      },
      { ...strict, default: {} },
    ),
    /** Connections per listener; default from the open-file limit (at most 8192). */
    max_connections: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { ...strict, default: {} },
);

export const storeSection = Type.Object(
  {
    chdb: Type.Optional(Type.Object({ path: Type.String({ default: './data' }) }, strict)),
    clickhouse: Type.Optional(
      Type.Object({ url: Url, database: Type.String({ default: 'tollkeeper' }), username: Type.String({ default: 'default' }), password: Type.String({ default: '' }) }, strict),
    ),
  },
  { ...strict, default: {} },
);

export const authSection = Type.Object(
  { admin_token: Type.Optional(Type.String({ minLength: 16 })), gateway_token: Type.Optional(Type.String({ minLength: 16 })), otlp_token: Type.Optional(Type.String({ minLength: 16 })), metrics_token: Type.Optional(Type.String({ minLength: 16 })) },
  { ...strict, default: {} },
);
