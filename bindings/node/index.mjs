// Titan's Node SDK (ES module entry point over the CommonJS one, so both share one native addon).
import titan from './index.js';

export * from './lib/errors.js';

export const {
  Titan,
  DEFAULT_TIMEOUT,
  DEFAULT_MAX_RETRIES,
  Page,
  PagePromise,
  EventStream,
  verifyWebhook,
  unwrapWebhook,
} = titan;
export default titan.Titan;
