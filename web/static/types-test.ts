// Compiled by `tsc --noEmit` only: uses of the API that must type-check,
// and misuses that must not (each `@ts-expect-error` fails the check if the
// line below it compiles).
import { PresenceClient, PresenceError, CLOSE_UNAUTHORIZED, type Entry } from './presence-client.js';

const client = new PresenceClient({
  getToken: async () => (await fetch('/token')).text(),
  backoffMaxMs: 10_000,
});
client.on('presence', ({ users, snapshot }) => {
  const first: Entry | undefined = users[0];
  if (snapshot && first) console.log(first.status, first.since);
});
client.on('close', ({ code, reconnectInMs }) => {
  if (code === CLOSE_UNAUTHORIZED && reconnectInMs === null) console.log('signed out');
});
client.on('refresh', ({ expires }) => console.log(expires?.toISOString()));
client.on('error', (err: PresenceError) => console.log(err.code));

async function use(): Promise<void> {
  const w = await client.connect();
  const admin: boolean = w.user.admin;
  await client.subscribe({ all: true });
  await client.subscribe({ users: ['alice'] });
  const entries: Entry[] = await client.query(['alice']);
  await client.setStatus('busy', 'In a meeting');
  const r = await client.refresh();
  console.log(admin, entries.length, r.expires, (await client.admin.listStatuses()).total);
  await client.setStatus('busy', 'Lunch', { until: new Date(Date.now() + 3_600_000) });
  await client.setCustomStatus('c1', { duration_s: 1800 });
  const items = await client.history({ user: 'alice', limit: 5 });
  console.log(items[0]?.reason, entries[0]?.until);
  await client.bye();
  // @ts-expect-error until or duration_s, not both
  await client.setStatus('busy', '', { until: '2026-05-01T15:30:00Z', duration_s: 60 });
  // @ts-expect-error not a presence value
  await client.setStatus('lunch');
  // @ts-expect-error no such event
  client.on('welcomed', () => {});
}
void use;

// @ts-expect-error getToken must return a token
new PresenceClient({ getToken: () => 42 });
