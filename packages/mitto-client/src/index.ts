// Public entry point of @smsbatch/mitto-client: the Mitto client (core's SmsProvider port), its
// errors and guards, and the delivery-report parser. Test tools live in `./testing`.

export {
  createMittoClient,
  type MittoCallOptions,
  type MittoClient,
  type MittoLookupResult,
} from './internal/client.js';
export {
  type DeliveryReportBatch,
  type DeliveryReportInput,
  type NoNewsReport,
  type ParseDeliveryReportsOptions,
  type ParsedDeliveryEvent,
  parseDeliveryReports,
  type UnreadableReport,
} from './internal/delivery-reports.js';
export { toDeliveryState } from './internal/delivery-status.js';
export {
  type AmbiguousReason,
  isMittoAbortError,
  isMittoAmbiguousError,
  isMittoAuthenticationError,
  isMittoConnectionError,
  isMittoError,
  isMittoHttpError,
  isMittoInvalidResponseError,
  isMittoRateLimitError,
  isMittoServerError,
  isMittoValidationError,
  MittoAbortError,
  MittoAmbiguousError,
  MittoAuthenticationError,
  MittoConnectionError,
  MittoError,
  type MittoErrorCode,
  type MittoErrorOptions,
  MittoHttpError,
  MittoInvalidResponseError,
  MittoRateLimitError,
  MittoServerError,
  MittoValidationError,
} from './internal/errors.js';
export {
  HARD_MAX_BATCH_SIZE,
  type MittoBackoffOptions,
  type MittoClientOptions,
  type MittoDispatcher,
} from './internal/options.js';
