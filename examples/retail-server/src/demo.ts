// `npm run demo`: a campaign sent end to end on the embedded defaults (in-memory store and ledger,
// in-process queue, a fake Mitto on loopback posting delivery reports to the server's own webhook),
// with a live progress bar and a summary. Uses PostgreSQL and BullMQ instead when DATABASE_URL /
// REDIS_URL are set. `--recipients N` changes the audience size (default 10,000).

import { parseArgs } from 'node:util';
import type { CampaignRecord, CampaignStatusView, Recipient } from '@smsbatch/core';
import { startRetailServer } from './app.js';
import { createConsoleLogger } from './logger.js';
import { exitOnStartupFailure } from './runtime.js';

const { values } = parseArgs({
  options: {
    recipients: { type: 'string', default: '10000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run demo -- [--recipients N]');
  process.exit(0);
}
const total = Number(values.recipients);
if (!Number.isInteger(total) || total < 10) {
  console.error(`--recipients: a whole number of at least 10, got "${values.recipients}"`);
  process.exit(2);
}

const ENGLISH = 'Hi {{name|there}}! Spring sale: 20% off everything until Sunday.';
const GREEK = 'Γεια σου {{name|φίλε}}! Ανοιξιάτικες εκπτώσεις: -20% σε όλα ως την Κυριακή.';
const INVALID_EVERY = 997; // a few numbers no network can route
const SUPPRESSED_EVERY = 499; // a few contacts who opted out

/** The audience, generated as it is read: memory stays flat for any --recipients. */
async function* audience(count: number, offset: number): AsyncGenerator<Recipient> {
  for (let i = 0; i < count; i++) {
    const n = offset + i;
    yield {
      phone: n % INVALID_EVERY === 13 ? `+30 21 ${n}` : `+3069${String(40_000_000 + n)}`,
      contactId: `contact-${n}`,
      vars: { name: n % 7 === 0 ? '' : `Customer ${n}` },
    };
  }
}

const quiet = createConsoleLogger({ level: 'warn' });
const server = await startRetailServer({
  env: { ...process.env, PORT: '0', WORKER: 'on' },
  logger: quiet,
}).catch(exitOnStartupFailure);
const { stack } = server;
const say = (line = '') => process.stdout.write(`${line}\n`);

say('smsbatch demo');
say(`  store and ledger: ${stack.adapters.store}`);
say(`  queue:            ${stack.adapters.queue}`);
say(`  provider:         ${stack.adapters.provider}`);
say(`  server:           ${server.url} (delivery reports arrive at its /webhooks/mitto/dlr)`);
say();

const startingCredits = total * 3;
const created = await fetch(`${server.url}/admin/owners`, {
  method: 'POST',
  headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'Demo Retail', credits: startingCredits }),
});
if (created.status !== 201) throw new Error(`could not create the owner: ${await created.text()}`);
const { ownerId, apiKey } = (await created.json()) as { ownerId: string; apiKey: string };
const suppressed: string[] = [];
for (let n = SUPPRESSED_EVERY; n < total; n += SUPPRESSED_EVERY) {
  suppressed.push(`+3069${String(40_000_000 + n)}`);
}
await server.owners.suppress(ownerId, suppressed);

const greekCount = Math.floor(total * 0.4);
const plans = [
  { name: 'Spring sale (English)', text: ENGLISH, count: total - greekCount, offset: 0 },
  {
    name: 'Ανοιξιάτικες εκπτώσεις (Greek)',
    text: GREEK,
    count: greekCount,
    offset: total - greekCount,
  },
];
say(
  `owner ${ownerId} with ${startingCredits.toLocaleString('en')} credits; ${suppressed.length} contacts opted out`,
);
const createStart = Date.now();
const campaigns: CampaignRecord[] = [];
for (const plan of plans) {
  const campaign = await stack.pipeline.campaigns.create(ownerId, {
    name: plan.name,
    text: plan.text,
    recipients: audience(plan.count, plan.offset),
  });
  campaigns.push(campaign);
  say(
    `created "${plan.name}": ${campaign.total.toLocaleString('en')} recipients, ${campaign.estimatedCost.toLocaleString('en')} credits to reserve`,
  );
}
say(`  (audience stored in ${Date.now() - createStart} ms)`);
say();

const started = Date.now();
for (const campaign of campaigns) {
  const answer = await fetch(`${server.url}/campaigns/${campaign.id}/enqueue`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}` },
  });
  if (answer.status !== 202) throw new Error(`enqueue refused: ${await answer.text()}`);
}

const statuses = () =>
  Promise.all(campaigns.map((c) => stack.pipeline.campaigns.status(ownerId, c.id)));
const sum = (views: CampaignStatusView[], key: keyof CampaignStatusView) =>
  views.reduce((acc, v) => acc + Number(v[key]), 0);
const isTty = process.stdout.isTTY === true;
let lastLine = 0;
let lastPrinted = 0;
const draw = (views: CampaignStatusView[], final = false) => {
  const done =
    sum(views, 'sent') +
    sum(views, 'delivered') +
    sum(views, 'failed') +
    sum(views, 'skipped') +
    sum(views, 'cancelled');
  const share = Math.min(1, done / total);
  const width = 30;
  const bar = '█'.repeat(Math.round(share * width)).padEnd(width, '░');
  const seconds = (Date.now() - started) / 1000;
  const rate = Math.round(
    (sum(views, 'sent') + sum(views, 'delivered') + sum(views, 'failed')) /
      Math.max(seconds, 0.001),
  );
  const line =
    `${bar} ${(share * 100).toFixed(0).padStart(3)}%  queued ${sum(views, 'queued')}  ` +
    `sent ${sum(views, 'sent')}  delivered ${sum(views, 'delivered')}  failed ${sum(views, 'failed')}  ` +
    `${rate.toLocaleString('en')} msg/s`;
  if (isTty) {
    process.stdout.write(`\r${line.padEnd(lastLine)}`);
    lastLine = line.length;
  } else if (final || Date.now() - lastPrinted >= 1000) {
    say(line);
    lastPrinted = Date.now();
  }
};

let views = await statuses();
while (views.some((v) => v.finishedAt === null)) {
  draw(views);
  await new Promise((resolve) => setTimeout(resolve, 200));
  views = await statuses();
}
const sentAt = Date.now();
// Delivery reports trail the sends: wait until every accepted message has its final report.
await stack.fake?.flushDeliveryReports({ timeoutMs: 60_000 });
const deadline = Date.now() + 60_000;
while (views.some((v) => v.sent > 0) && Date.now() < deadline) {
  draw(views);
  await new Promise((resolve) => setTimeout(resolve, 200));
  views = await statuses();
}
draw(views, true);
if (isTty) say();
say();

const balance = await stack.ledger.balance(ownerId);
const rows: [string, ...(string | number)[]][] = [
  ['', ...campaigns.map((_, i) => (i === 0 ? 'English' : 'Greek')), 'total'],
];
const row = (label: string, pick: (v: CampaignStatusView, i: number) => number) =>
  rows.push([label, ...views.map(pick), views.reduce((acc, v, i) => acc + pick(v, i), 0)]);
row('recipients', (v) => v.total);
for (const key of [
  'delivered',
  'sent',
  'failed',
  'unknown',
  'skipped',
  'cancelled',
  'queued',
] as const) {
  row(key, (v) => v[key]);
}
row('credits reserved', (_v, i) => campaigns[i]!.estimatedCost);
row('credits captured', (v) => v.creditsDebited);
row(
  'credits released',
  (v, i) => campaigns[i]!.estimatedCost - v.creditsDebited - v.creditsReserved,
);
row('credits still held', (v) => v.creditsReserved);
const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => String(r[col]).length)));
for (const r of rows) {
  say(
    r
      .map((cell, col) =>
        col === 0 ? String(cell).padEnd(widths[col]!) : String(cell).padStart(widths[col]!),
      )
      .join('   '),
  );
}
say();
say(
  `balance: ${balance.balance.toLocaleString('en')} credits (started with ${startingCredits.toLocaleString('en')}), reserved ${balance.reserved}, available ${balance.available.toLocaleString('en')}`,
);
say(
  `elapsed: sending ${((sentAt - started) / 1000).toFixed(1)} s, with every delivery report ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
const duplicates = stack.fake?.duplicates();
if (duplicates)
  say(
    `fake Mitto: ${stack.fake!.stats().accepted.toLocaleString('en')} messages accepted, ${duplicates.byReference} duplicates`,
  );
say();
say('Switch adapters with the environment: DATABASE_URL=postgres://... for PostgreSQL,');
say('REDIS_URL=redis://... for BullMQ workers, MITTO_API_BASE/MITTO_API_KEY for the real Mitto.');

await server.close();
const isSettled = views.every((v) => v.finishedAt !== null && v.creditsReserved === 0);
process.exit(isSettled && (duplicates?.byReference ?? 0) === 0 ? 0 : 1);
