// Migration 002: which attempt last claimed a batch and which one was handed to the provider, so
// the reconciler can put back the messages of a worker that died between its claim and its send
// (never sent: safe to send) instead of leaving them unknown.

export default `
ALTER TABLE batches ADD COLUMN attempt_id text, ADD COLUMN dispatched_attempt_id text;
`;
