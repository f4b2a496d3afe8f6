// Titan's Node SDK (ES module entry point over the CommonJS one, so both share one native addon).
import titan from './index.js';

export const {
  Titan,
  DEFAULT_TIMEOUT,
  DEFAULT_MAX_RETRIES,
  TitanError,
  APIError,
  APIConnectionError,
  APIConnectionTimeoutError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  InvalidWebhookSignatureError,
  Page,
  PagePromise,
  EventStream,
  verifyWebhook,
  unwrapWebhook,
} = titan;
export default titan.Titan;
