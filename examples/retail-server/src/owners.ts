// The retail app's owners (shops): their API keys, sender and traffic account, subscription
// state and opt-outs. One repository serves three of core's app ports (OwnerDirectory,
// SubscriptionGuard, SuppressionList), in memory or in PostgreSQL tables of the example's own
// schema. API keys are `<ownerId>.<secret>`; only a SHA-256 of the secret is stored, and it is
// compared in constant time.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type {
  OwnerDirectory,
  SubscriptionDecision,
  SubscriptionGuard,
  SuppressionList,
} from '@smsbatch/core';
import type pg from 'pg';

export interface Owner {
  id: string;
  name: string;
  subscriptionActive: boolean;
  trafficAccountId: string | null;
  sender: string | null;
  createdAt: Date;
}

export type NewOwner = Pick<Owner, 'name' | 'subscriptionActive' | 'trafficAccountId' | 'sender'>;

export interface OwnerRepository extends OwnerDirectory, SubscriptionGuard, SuppressionList {
  /** Creates the owner; the API key is returned once and never stored. */
  create(input: NewOwner): Promise<{ owner: Owner; apiKey: string }>;
  get(id: string): Promise<Owner | null>;
  /** The owner an API key belongs to, or null. */
  authenticate(apiKey: string): Promise<string | null>;
  setSubscriptionActive(id: string, isActive: boolean): Promise<boolean>;
  /** Adds opt-outs (E.164 phones); returns how many were new. */
  suppress(ownerId: string, phones: readonly string[]): Promise<number>;
}

const newOwnerId = () => `shop_${randomBytes(6).toString('hex')}`;
const newSecret = () => randomBytes(32).toString('base64url');
const hashOf = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();
/** Compared against when the owner does not exist, so both paths do the same work. */
const NO_HASH = hashOf('no such owner');

function splitKey(apiKey: string): { ownerId: string; secret: string } | null {
  const dot = apiKey.indexOf('.');
  if (dot <= 0 || dot === apiKey.length - 1) return null;
  return { ownerId: apiKey.slice(0, dot), secret: apiKey.slice(dot + 1) };
}

function matches(secret: string, stored: Buffer | null): boolean {
  const isEqual = timingSafeEqual(hashOf(secret), stored ?? NO_HASH);
  return stored !== null && isEqual;
}

const denied = (owner: Owner | null): SubscriptionDecision =>
  owner === null
    ? { isAllowed: false, reason: 'unknown owner' }
    : owner.subscriptionActive
      ? { isAllowed: true }
      : { isAllowed: false, reason: 'the shop has no active subscription' };

export function createMemoryOwnerRepository(): OwnerRepository {
  const owners = new Map<string, { owner: Owner; keyHash: Buffer }>();
  const suppressed = new Map<string, Set<string>>();

  return {
    async create(input) {
      const owner: Owner = { id: newOwnerId(), ...input, createdAt: new Date() };
      const secret = newSecret();
      owners.set(owner.id, { owner, keyHash: hashOf(secret) });
      return { owner: { ...owner }, apiKey: `${owner.id}.${secret}` };
    },
    async get(id) {
      const entry = owners.get(id);
      return entry ? { ...entry.owner } : null;
    },
    async authenticate(apiKey) {
      const parts = splitKey(apiKey);
      if (!parts) return null;
      const entry = owners.get(parts.ownerId);
      return matches(parts.secret, entry?.keyHash ?? null) ? parts.ownerId : null;
    },
    async setSubscriptionActive(id, isActive) {
      const entry = owners.get(id);
      if (!entry) return false;
      entry.owner.subscriptionActive = isActive;
      return true;
    },
    async getSettings(id) {
      const owner = owners.get(id)?.owner;
      return owner ? { sender: owner.sender, trafficAccountId: owner.trafficAccountId } : null;
    },
    async check(id) {
      return denied(owners.get(id)?.owner ?? null);
    },
    async suppress(ownerId, phones) {
      let set = suppressed.get(ownerId);
      if (!set) {
        set = new Set();
        suppressed.set(ownerId, set);
      }
      const before = set.size;
      for (const phone of phones) set.add(phone);
      return set.size - before;
    },
    async filterSuppressed(ownerId, phones) {
      const set = suppressed.get(ownerId);
      return new Set(set ? phones.filter((phone) => set.has(phone)) : []);
    },
  };
}

export interface PostgresOwnerOptions {
  /** The example's own schema, apart from the SDK's tables. Default `retail`. */
  schema?: string;
}

/**
 * Owners in `<schema>.retail_owners` and opt-outs in `<schema>.retail_suppressions`. `pool` is
 * read at each call: the stack creates the pool after the ports it is given.
 */
export function createPostgresOwnerRepository(
  pool: () => pg.Pool,
  options: PostgresOwnerOptions = {},
): OwnerRepository & { migrate(): Promise<void> } {
  const schema = options.schema ?? 'retail';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  const owners = `"${schema}".retail_owners`;
  const suppressions = `"${schema}".retail_suppressions`;
  const columns = 'id, name, subscription_active, traffic_account_id, sender, created_at';

  type Row = {
    id: string;
    name: string;
    subscription_active: boolean;
    traffic_account_id: string | null;
    sender: string | null;
    created_at: Date;
  };
  const toOwner = (row: Row): Owner => ({
    id: row.id,
    name: row.name,
    subscriptionActive: row.subscription_active,
    trafficAccountId: row.traffic_account_id,
    sender: row.sender,
    createdAt: row.created_at,
  });
  const get = async (id: string): Promise<Owner | null> => {
    const { rows } = await pool().query<Row>(`SELECT ${columns} FROM ${owners} WHERE id = $1`, [
      id,
    ]);
    return rows[0] ? toOwner(rows[0]) : null;
  };

  return {
    async migrate() {
      const client = await pool().connect();
      try {
        await client.query('BEGIN');
        // Server and worker may start together: one of them creates the tables.
        await client.query("SELECT pg_advisory_xact_lock(hashtext('retail-server:migrate'))");
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${owners} (
          id text PRIMARY KEY,
          name text NOT NULL,
          api_key_hash bytea NOT NULL,
          subscription_active boolean NOT NULL DEFAULT true,
          traffic_account_id text,
          sender text,
          created_at timestamptz NOT NULL DEFAULT now()
        )`);
        await client.query(`CREATE TABLE IF NOT EXISTS ${suppressions} (
          owner_id text NOT NULL REFERENCES ${owners} (id) ON DELETE CASCADE,
          phone text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (owner_id, phone)
        )`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async create(input) {
      const secret = newSecret();
      const { rows } = await pool().query<Row>(
        `INSERT INTO ${owners} (id, name, api_key_hash, subscription_active, traffic_account_id, sender)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${columns}`,
        [
          newOwnerId(),
          input.name,
          hashOf(secret),
          input.subscriptionActive,
          input.trafficAccountId,
          input.sender,
        ],
      );
      const owner = toOwner(rows[0]!);
      return { owner, apiKey: `${owner.id}.${secret}` };
    },
    get,
    async authenticate(apiKey) {
      const parts = splitKey(apiKey);
      if (!parts) return null;
      const { rows } = await pool().query<{ api_key_hash: Buffer }>(
        `SELECT api_key_hash FROM ${owners} WHERE id = $1`,
        [parts.ownerId],
      );
      return matches(parts.secret, rows[0]?.api_key_hash ?? null) ? parts.ownerId : null;
    },
    async setSubscriptionActive(id, isActive) {
      const result = await pool().query(
        `UPDATE ${owners} SET subscription_active = $2 WHERE id = $1`,
        [id, isActive],
      );
      return result.rowCount === 1;
    },
    async getSettings(id) {
      const owner = await get(id);
      return owner ? { sender: owner.sender, trafficAccountId: owner.trafficAccountId } : null;
    },
    async check(id) {
      return denied(await get(id));
    },
    async suppress(ownerId, phones) {
      const result = await pool().query(
        `INSERT INTO ${suppressions} (owner_id, phone)
         SELECT $1, phone FROM unnest($2::text[]) AS phone
         ON CONFLICT DO NOTHING`,
        [ownerId, [...new Set(phones)]],
      );
      return result.rowCount ?? 0;
    },
    async filterSuppressed(ownerId, phones) {
      if (phones.length === 0) return new Set();
      const { rows } = await pool().query<{ phone: string }>(
        `SELECT phone FROM ${suppressions} WHERE owner_id = $1 AND phone = ANY($2::text[])`,
        [ownerId, phones],
      );
      return new Set(rows.map((row) => row.phone));
    },
  };
}
