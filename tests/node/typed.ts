// Typed usage of the SDK from an ES module, checked by `tsc --noEmit` (types.test.mjs): it must
// compile, and each `@ts-expect-error` must catch a mistake the types exist to catch.
import Titan, { APIError, NotFoundError, RateLimitError, verifyWebhook, unwrapWebhook } from 'titan-client';
import type { Event, JidRef, Message, Page, Session, SessionsCreateParams, Status } from 'titan-client';

export async function tour(): Promise<void> {
  const client = new Titan({ baseURL: 'http://127.0.0.1:8080', apiKey: 'titan_key', timeout: 30_000, maxRetries: 3 });

  const params: SessionsCreateParams = { name: 'alice', start: true };
  const session: Session = await client.sessions.create(params);
  const status: Status = session.status;
  // @ts-expect-error: a session's name is a string
  const wrong: number = session.name;

  // @ts-expect-error: `name` is required
  await client.sessions.create({ start: true });
  // @ts-expect-error: an unknown argument
  await client.sessions.create({ name: 'x', colour: 'blue' });

  const qr = await client.pairing.qr('alice');
  const dataUrl: string = qr.qr;

  const sent: Message = await client.messages.send({ session: 'alice', chatId: '15550002222@s.whatsapp.net', type: 'text', text: 'hi' });
  const first: Page<Message> = await client.messages.list('alice', '15550002222@s.whatsapp.net', { limit: 20 });
  for await (const message of client.messages.list('alice', '15550002222@s.whatsapp.net')) {
    const fromMe: boolean = message.fromMe;
    void fromMe;
  }
  for await (const s of client.sessions.list()) {
    void s.name.toUpperCase();
  }
  await client.account.keys.update('key-id', { label: 'renamed', isActive: false });
  await client.webhooks.deliveries.list('webhook-id');
  const accepted = await client.sessions.restartDeferred('alice');
  void accepted.correlationId;

  for await (const event of client.events.stream({ events: 'message.received', session: 'alice' })) {
    const e: Event = event;
    if (e.event === 'message.received') {
      const text: string | null | undefined = e.payload.text;
      const from: JidRef = e.payload.from;
      const number = 'mode' in from ? from.phoneNumber : from.id;
      void [text, number];
    } else if (e.event === 'session.status') {
      const status: Status = e.payload.status;
      // @ts-expect-error a session.status payload has no text: the union narrowed
      void e.payload.text;
      void status;
    }
    break;
  }

  try {
    await client.sessions.get('nobody');
  } catch (error) {
    if (error instanceof NotFoundError) {
      const code: 404 = error.status;
      void code;
    } else if (error instanceof RateLimitError || error instanceof APIError) {
      void [error.error, error.docs, error.requestId, error.headers];
    }
  }

  verifyWebhook('{}', { 'x-webhook-signature': 'sha256=00' }, 'whsec_x');
  const delivered: Event = unwrapWebhook(new Uint8Array(2), new Headers(), 'whsec_x');
  if (delivered.event === 'command.result') void delivered.payload.success;
  void [status, wrong, dataUrl, sent, first, delivered, client.withOptions({ maxRetries: 0 })];
}
