/** An app for the forward-auth tests: fast ticks, no detection, one api_key policy (so answers carry remaining budget). */
export const KEY_REQUESTS_YAML = `
detector: { interval: 200ms }
anomaly: { enabled: false }
policies:
  - name: key-requests
    scope: api_key
    period: { calendar: day, timezone: UTC }
    limits: { requests: 100, cost_usd: 5 }
    action: revoke
`;
