// Ids and reasons chosen by a sender reach chat channels and webhook receivers. A Slack or Mattermost message must
// not ping anyone, link anywhere or gain lines because of them; a Standard Webhooks body must stay valid JSON that
// carries the id exactly, and
// an id no store can hold (a lone surrogate) must not hold up the alerts and revocations after it.
import { describe, expect, it } from 'vitest';
import { wellFormedText } from '../../core/well-formed.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { useAlertApps } from '../helpers/alert-apps.ts';
import { slackRefusals } from '../helpers/alert-receivers.ts';
import { deliveries, enforce } from '../helpers/alerts-api.ts';
import { HOSTILE } from '../helpers/hostile-ids.ts';
import { waitFor } from '../helpers/wait.ts';

const SECRET = 'whsec_' + Buffer.from('a test secret of 32 bytes.......').toString('base64');
const yaml = (hooks: string) => `
detector: { interval: 1h }
alerts:
  delivery: { max_attempts: 30, backoff: 50ms, max_backoff: 300ms }
  webhooks:
${hooks}
`;

const apps = useAlertApps();
const receiver = (secret: string | undefined) => apps.hookReceiver(secret);
let t: TestApp;

/** Mentions Slack or Mattermost would act on in mrkdwn/Markdown text. */
const MENTION = /<!|<@|(^|[^\w\u200B])@(channel|here|all|everyone|[a-z])/i;
/** A link or image whose shown text differs from its target (Slack's `<url|text>`, Markdown's `[text](url)`). */
const MASKED_LINK = /<https?:|\]\(/i;

describe('hostile ids in alerts', () => {
  it('a Slack / Mattermost message pings nobody, masks no link and gains no line', async () => {
    const slack = await receiver(undefined);
    t = apps.use(await startApp({ startLoop: false, yaml: yaml(`    - { url: "${slack.url}", format: slack }`) }));
    const id = `${HOSTILE.mention}\n*Why:* forged line`;
    await enforce(t, 'revoke', 'api_key', id, `${HOSTILE.link}\n*Done:* nothing, @channel`);
    await waitFor(() => slack.hooks.length === 1, { what: 'the Slack message' });
    const msg = slack.hooks[0]!.json as { text: string; blocks: { text?: { text: string }; elements?: { text: string }[] }[] };
    const restore = msg.text.slice(msg.text.indexOf('```'));
    const prose = msg.text.slice(0, msg.text.indexOf('```'));
    const texts = [prose, ...msg.blocks.flatMap((b) => [b.text?.text ?? '', ...(b.elements ?? []).map((e) => e.text)]).filter((x) => !x.includes('```'))];
    for (const x of texts) {
      expect(x, x).not.toMatch(MENTION);
      expect(x, x).not.toMatch(MASKED_LINK);
    }
    expect(prose.split('\n').filter((l) => l.startsWith('*Why:*'))).toHaveLength(1);
    expect(prose.split('\n').filter((l) => l.startsWith('*Done:*'))).toHaveLength(1);
    // The restore call inside the code block is the exact id, so copying it restores this key.
    expect(restore).toContain(JSON.stringify(id).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll("'", "'\\''"));
  });

  it('a signed webhook body is valid JSON carrying each id exactly', async () => {
    const hook = await receiver(SECRET);
    t = apps.use(await startApp({ startLoop: false, yaml: yaml(`    - { url: "${hook.url}", secret: "${SECRET}" }`) }));
    const ids = Object.values(HOSTILE);
    for (const id of ids) await enforce(t, 'revoke', 'api_key', id, id);
    await waitFor(() => hook.hooks.length === ids.length, { what: `${ids.length} webhooks` });
    expect(hook.hooks.every((h) => h.verified)).toBe(true);
    const got = hook.hooks.map((h) => (h.json as { data: { entity: { id: string }; reason: string } }).data);
    // A lone surrogate has no UTF-8 form: it arrives as U+FFFD, as it is stored (and as ingest stores it from spans).
    expect(got.map((d) => d.entity.id).sort()).toEqual(ids.map(wellFormedText).sort());
    expect(got.every((d) => d.reason === d.entity.id)).toBe(true);
  });

  it('bidi controls and zero-width characters in an id show as code points in mail and chat; the restore call stays exact', async () => {
    const slack = await receiver(undefined);
    const mail = await apps.smtp();
    t = apps.use(await startApp({
      startLoop: false,
      yaml: `${yaml(`    - { url: "${slack.url}", format: slack }`)}  email: { smtp_url: "${mail.url}", from: tk@example.com, to: [ops@example.com] }
`,
    }));
    // Shown raw, "k-\u202Egnp.exe — …" reads as "k-exe.png" and flips the rest of the subject.
    await enforce(t, 'revoke', 'api_key', HOSTILE.rtl, `leaked ${HOSTILE.zeroWidth}`);
    await waitFor(() => slack.hooks.length === 1 && mail.mails.length === 1, { what: 'the Slack message and the mail' });
    const m = mail.mails[0]!.parsed;
    const chat = (slack.hooks[0]!.json as { text: string }).text;
    const INVISIBLE = /[\u202A-\u202E\u2066-\u2069\u200B\u200C\u2060\uFEFF]/;
    expect(m.subject).toContain('api_key k-[U+202E]gnp.exe');
    expect(m.subject).not.toMatch(INVISIBLE);
    expect(String(m.html)).toContain('k-[U+202E]gnp.exe');
    expect(m.text).toContain('leaked k[U+200B]-\u200Dzw[U+FEFF]');
    const restoreLine = (m.text ?? '').split('\n').find((l) => l.includes('curl'))!;
    expect(restoreLine).toContain(JSON.stringify(HOSTILE.rtl));
    expect((m.text ?? '').replace(restoreLine, '')).not.toMatch(INVISIBLE);
    const prose = chat.slice(0, chat.indexOf('```'));
    expect(prose).toContain('k-[U+202E]gnp.exe');
    expect(prose.replaceAll('@\u200B', '@')).not.toMatch(INVISIBLE);
    expect(chat.slice(chat.indexOf('```'))).toContain(JSON.stringify(HOSTILE.rtl));
  });

  it('a Slack message stays within Block Kit limits however long the escaped id and reason grow', async () => {
    const slack = await receiver(undefined);
    // As Slack does: a section text over 3000 characters refuses the whole message.
    slack.setBehaviour((_req, res, body) => {
      const refused = slackRefusals(body);
      if (refused.length === 0) return false;
      res.writeHead(400).end(`invalid_blocks: ${refused.join('; ')}`);
      return true;
    });
    t = apps.use(await startApp({ startLoop: false, yaml: yaml(`    - { url: "${slack.url}", format: slack }`) }));
    // Each '<' is four characters once escaped, each bidi control eight once made visible.
    const id = '<'.repeat(200) + '\u202E'.repeat(56);
    await enforce(t, 'revoke', 'api_key', id, '<&>'.repeat(300) + '\u202E'.repeat(100));
    await waitFor(async () => slack.hooks.length === 1 || (await deliveries(t, 'channel=slack'))[0]?.last_error, { what: 'the Slack message or its refusal' });
    expect((await deliveries(t, 'channel=slack'))[0]?.last_error ?? null).toBeNull();
    const msg = slack.hooks[0]!.json as { text: string };
    expect(msg.text).toMatch(/^\*Why:\* (&lt;&amp;&gt;)+.*…$/m);
    // The restore call is never cut: it carries the exact id.
    expect(msg.text).toContain(JSON.stringify(id).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'));
  });
});
