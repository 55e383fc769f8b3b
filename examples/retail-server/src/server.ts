// `npm start`: the retail server on PORT (default 3000), sending from this process unless
// WORKER=off. Prints where to go and the admin token, and stops cleanly on SIGTERM/SIGINT.

import { startRetailServer } from './app.js';
import { closeOnSignals, exitOnStartupFailure } from './runtime.js';

const server = await startRetailServer().catch(exitOnStartupFailure);
closeOnSignals(server.close, { logger: server.logger });

const port = new URL(server.url).port;
process.stdout.write(
  [
    '',
    `  Retail server ready on http://localhost:${port}  (status page at /)`,
    `  Store: ${server.stack.adapters.store}; queue: ${server.stack.adapters.queue}; provider: ${server.stack.adapters.provider}`,
    server.isAdminTokenGenerated
      ? `  Admin token (ADMIN_TOKEN was unset, so it changes every start): ${server.adminToken}`
      : '  Admin token: the value of ADMIN_TOKEN',
    '',
    '  Create a shop:',
    `    curl -s -X POST http://localhost:${port}/admin/owners \\`,
    `      -H "Authorization: Bearer ${server.isAdminTokenGenerated ? server.adminToken : '$ADMIN_TOKEN'}" \\`,
    `      -H 'Content-Type: application/json' -d '{"name":"Corner Shop","credits":1000}'`,
    '',
    '',
  ].join('\n'),
);
