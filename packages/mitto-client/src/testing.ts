// Test tools of @smsbatch/mitto-client: a fake Mitto over real sockets (`startFakeMitto`), msw
// handlers that behave like Mitto, and a dispatcher that lets the client talk to msw handlers.
// Needs `msw` (an optional peer dependency) installed.

export type {
  FakeDeliveryReportOptions,
  WebhookReport,
} from './internal/testing/delivery-simulator.js';
export type {
  AcceptedMessage,
  DuplicateReport,
  FakeMittoFaults,
  FakeMittoStats,
  ScriptedFault,
} from './internal/testing/fake-engine.js';
export {
  type FakeMitto,
  type FakeMittoOptions,
  startFakeMitto,
} from './internal/testing/fake-server.js';
export {
  connectionRefusedError,
  createMittoHandlers,
  createMswDispatcher,
  type MittoHandlers,
  type MittoHandlersOptions,
} from './internal/testing/msw.js';
