// Migration 001: every table of the store and the ledger, with the indexes the store's queries use
// (test/integration/explain.test.ts checks them against the plans). Runs with `search_path` set to
// the target schema, so names are unqualified. Times are epoch milliseconds in `bigint` columns,
// the unit of the ports; counts are integers; credits are `bigint`.

export default `
CREATE TABLE campaigns (
  id text PRIMARY KEY,
  -- Creation order: campaign lists page newest first on it.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  owner_id text NOT NULL,
  name text NOT NULL,
  text text NOT NULL,
  sender text NOT NULL,
  traffic_account_id text NOT NULL,
  status text NOT NULL CHECK (status IN
    ('draft', 'scheduled', 'sending', 'paused', 'completed', 'failed', 'cancelled')),
  total integer NOT NULL,
  estimated_cost bigint NOT NULL,
  hold_id text,
  hold_generation integer NOT NULL,
  batch_size integer NOT NULL,
  plan_next_seq integer NOT NULL,
  plan_planned integer NOT NULL,
  plan_chunk_no integer NOT NULL,
  plan_planned_cost bigint NOT NULL,
  plan_done boolean NOT NULL,
  schedule_version integer NOT NULL,
  scheduled_at bigint,
  started_at bigint,
  finished_at bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX campaigns_owner_idx ON campaigns (owner_id, seq DESC);
CREATE INDEX campaigns_status_idx ON campaigns (status, seq DESC);

-- Counters live apart from the (wide) campaign row: every message write bumps them, and a narrow
-- row with free space on its page takes those updates as HOT updates.
CREATE TABLE campaign_counters (
  campaign_id text PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
  count_queued integer NOT NULL DEFAULT 0,
  count_sending integer NOT NULL DEFAULT 0,
  count_sent integer NOT NULL DEFAULT 0,
  count_delivered integer NOT NULL DEFAULT 0,
  count_failed integer NOT NULL DEFAULT 0,
  count_unknown integer NOT NULL DEFAULT 0,
  count_skipped integer NOT NULL DEFAULT 0,
  count_cancelled integer NOT NULL DEFAULT 0,
  accepted_cost bigint NOT NULL DEFAULT 0
) WITH (fillfactor = 50);

CREATE TABLE recipients (
  campaign_id text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  phone text NOT NULL,
  phone_error text,
  contact_id text,
  -- NULL for no variables, the common case.
  vars jsonb,
  PRIMARY KEY (campaign_id, seq)
);

-- Messages take two or three updates each on the hot path (claim, result, delivery report), so
-- the table is laid out for HOT updates: PostgreSQL rewrites a row in place, touching no index,
-- when no indexed value changes and the page has room. Hence the low fillfactor, and indexes only
-- on values that the hot path leaves alone: status is found through the batch counters (see
-- batches below), rare statuses and test messages through the generated watch_* columns (NULL
-- for campaign messages in queued/sending/sent/delivered), provider and bulk ids through the side
-- tables after this one.
-- No foreign key to campaigns: campaign messages are only inserted by appendPlanChunk, whose
-- compare-and-set on the campaign row proves it exists.
CREATE TABLE messages (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('campaign', 'test')),
  campaign_id text,
  owner_id text NOT NULL,
  seq integer NOT NULL,
  batch_no integer,
  contact_id text,
  phone text NOT NULL,
  text text NOT NULL,
  sender text NOT NULL,
  traffic_account_id text NOT NULL,
  encoding text NOT NULL,
  segments integer NOT NULL,
  cost integer NOT NULL,
  status text NOT NULL CHECK (status IN
    ('queued', 'sending', 'sent', 'delivered', 'failed', 'unknown', 'skipped', 'cancelled')),
  error text,
  is_retryable boolean NOT NULL DEFAULT false,
  is_accepted boolean NOT NULL DEFAULT false,
  retry_count integer NOT NULL DEFAULT 0,
  attempt_id text,
  lease_expires_at bigint,
  bulk_id text,
  provider_message_id text,
  lookup_count integer NOT NULL DEFAULT 0,
  last_lookup_at bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  sent_at bigint,
  delivered_at bigint,
  failed_at bigint,
  -- What the last transition replaced. RETURNING sees only new values; these let a transition
  -- report the status it left and whether it made the message accepted, with no locking read.
  prior_status text,
  prior_accepted boolean,
  -- The phone while it counts for dedupe (skipped messages free theirs).
  live_phone text GENERATED ALWAYS AS (CASE WHEN status <> 'skipped' THEN phone END) STORED,
  watch_status text GENERATED ALWAYS AS (CASE
    WHEN kind = 'test' OR status IN ('failed', 'unknown', 'skipped', 'cancelled') THEN status
  END) STORED,
  watch_updated_at bigint GENERATED ALWAYS AS (CASE
    WHEN kind = 'test' OR status IN ('failed', 'unknown', 'skipped', 'cancelled') THEN updated_at
  END) STORED
) WITH (fillfactor = 40);
-- A campaign in seq order (and test messages, under a NULL campaign).
CREATE INDEX messages_campaign_seq_idx ON messages (campaign_id, seq);
-- Claims, a batch's messages, and every status lookup narrowed to batches by their counters.
CREATE INDEX messages_batch_idx ON messages (campaign_id, batch_no, seq);
-- Planner dedupe: one live message per phone in a campaign.
CREATE UNIQUE INDEX messages_live_phone_idx ON messages (campaign_id, live_phone)
  WHERE live_phone IS NOT NULL;
-- Failed/unknown/skipped/cancelled messages of a campaign (listing, retry-failed), and of every
-- status for test messages.
CREATE INDEX messages_watch_campaign_idx ON messages (campaign_id, watch_status, seq)
  WHERE watch_status IS NOT NULL;
-- Maintenance scans of those across campaigns, oldest first.
CREATE INDEX messages_watch_updated_idx ON messages (watch_status, watch_updated_at)
  WHERE watch_status IS NOT NULL;

-- Provider message id -> message, written with the result: an index on messages would make
-- every result write a non-HOT update. Append-only and without a unique key (a replayed result
-- adds a duplicate, a changed provider id leaves a stale row): readers join back to messages and
-- compare, and the writes stay plain inserts.
CREATE TABLE message_provider_ids (
  provider_message_id text NOT NULL,
  message_id text NOT NULL
);
CREATE INDEX message_provider_ids_idx ON message_provider_ids (provider_message_id);

-- Bulk id -> the batches its messages belong to (one row per bulk call and batch).
CREATE TABLE bulk_batches (
  bulk_id text NOT NULL,
  campaign_id text NOT NULL,
  batch_no integer NOT NULL,
  PRIMARY KEY (bulk_id, campaign_id, batch_no)
);

-- The seed's BulkSendJob. Its per-status counts double as the index of where messages of a
-- status are: a batch with count_sending > 0 holds sending messages, and so on. The partial
-- indexes below find those batches; batches are few, so their non-HOT updates cost little.
CREATE TABLE batches (
  campaign_id text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  batch_no integer NOT NULL,
  size integer NOT NULL,
  segments integer NOT NULL,
  cost bigint NOT NULL,
  status text NOT NULL CHECK (status IN
    ('planned', 'queued', 'sending', 'completed', 'failed', 'unknown', 'cancelled')),
  releases integer NOT NULL DEFAULT 0,
  attempts integer NOT NULL DEFAULT 0,
  bulk_id text,
  last_error text,
  count_queued integer NOT NULL DEFAULT 0,
  count_sending integer NOT NULL DEFAULT 0,
  count_sent integer NOT NULL DEFAULT 0,
  count_delivered integer NOT NULL DEFAULT 0,
  count_failed integer NOT NULL DEFAULT 0,
  count_unknown integer NOT NULL DEFAULT 0,
  count_skipped integer NOT NULL DEFAULT 0,
  count_cancelled integer NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (campaign_id, batch_no)
) WITH (fillfactor = 70);
-- Release: the oldest planned batches and the count of queued/sending ones.
CREATE INDEX batches_open_idx ON batches (campaign_id, batch_no)
  WHERE status IN ('planned', 'queued', 'sending');
CREATE INDEX batches_with_queued_idx ON batches (campaign_id, batch_no) WHERE count_queued > 0;
CREATE INDEX batches_with_sending_idx ON batches (campaign_id, batch_no) WHERE count_sending > 0;
CREATE INDEX batches_with_sent_idx ON batches (campaign_id, batch_no) WHERE count_sent > 0;
CREATE INDEX batches_with_delivered_idx ON batches (campaign_id, batch_no)
  WHERE count_delivered > 0;

CREATE TABLE delivery_events (
  key text PRIMARY KEY,
  -- Arrival order: pending events are handed out oldest first.
  seq bigint GENERATED ALWAYS AS IDENTITY,
  provider_message_id text,
  reference text,
  state text NOT NULL CHECK (state IN ('sent', 'delivered', 'failed')),
  provider_status text NOT NULL,
  reason text,
  occurred_at bigint,
  source text NOT NULL CHECK (source IN ('webhook', 'lookup')),
  raw jsonb,
  received_at bigint NOT NULL,
  processed_at bigint
);
-- Pending events only: processed ones leave these indexes small.
CREATE INDEX delivery_events_pending_reference_idx ON delivery_events (reference)
  WHERE processed_at IS NULL;
CREATE INDEX delivery_events_pending_provider_idx ON delivery_events (provider_message_id)
  WHERE processed_at IS NULL;
CREATE INDEX delivery_events_pending_received_idx ON delivery_events (received_at)
  WHERE processed_at IS NULL;

-- The ledger's invariants are constraints, so no code path can break them.
CREATE TABLE ledger_accounts (
  owner_id text PRIMARY KEY,
  balance bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
  reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  CHECK (reserved <= balance)
);

CREATE TABLE ledger_holds (
  id text PRIMARY KEY,
  owner_id text NOT NULL REFERENCES ledger_accounts (owner_id),
  amount bigint NOT NULL CHECK (amount > 0),
  captured bigint NOT NULL DEFAULT 0 CHECK (captured >= 0),
  released bigint NOT NULL DEFAULT 0 CHECK (released >= 0),
  is_closed boolean NOT NULL DEFAULT false,
  created_at bigint NOT NULL,
  CHECK (captured + released <= amount)
);

CREATE TABLE ledger_entries (
  -- Insertion order: entries page newest first on it.
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id text NOT NULL,
  owner_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('credit', 'hold', 'capture', 'release')),
  amount bigint NOT NULL CHECK (amount >= 0),
  hold_id text,
  reason text,
  campaign_id text,
  batch_no integer,
  message_id text,
  created_at bigint NOT NULL
);
-- Credit, capture and release ids share one namespace, so a retried call finds its entry and does
-- nothing; a hold's entry carries the hold id, which ledger_holds keeps unique.
CREATE UNIQUE INDEX ledger_entries_id_idx ON ledger_entries (id) WHERE kind <> 'hold';
CREATE INDEX ledger_entries_owner_idx ON ledger_entries (owner_id, seq DESC);
`;
