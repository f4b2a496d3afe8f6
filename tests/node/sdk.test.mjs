// The Node SDK against a real sandbox server: keys, sessions, linking through the sandbox phone,
// messages both ways, paging, every error class from a real answer, SSE, deferred commands and a
// real webhook delivery verified with verifyWebhook.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';

import Titan, * as titan from 'titan-client';
import { ALICE, BOB, MASTER, phone, startServer, waitFor, webhookReceiver } from './helpers.mjs';

let server;
let client;

before(async () => {
  server = await startServer({ sandbox: true, env: { TITAN_RATE_LIMIT: '100000' } });
  const admin = new Titan({ baseURL: server.base, apiKey: MASTER });
  const { key } = await admin.admin.keys.create({ label: 'node', scopes: ['*'] });
  client = new titan.Titan({ baseURL: server.base, apiKey: key });
});

after(async () => {
  await server?.stop();
});

/** alice and bob, each linked by scanning its QR code with its sandbox phone (once per run). */
let linking;
function linked() {
  linking ??= (async () => {
    for (const [name, number] of [ALICE, BOB]) {
      await client.sessions.create({ name, start: true });
      const qr = await client.pairing.qr(name);
      assert.match(qr.qr, /^data:image\/png;base64,/);
      await phone(server, 'scan-qr', { qr: qr.code, phone: number });
      await waitFor(`${name} to connect`, async () => (await client.sessions.get(name)).status === 'CONNECTED');
    }
  })();
  return linking;
}

test('keys are created, listed, updated and revoked', async () => {
  const admin = new Titan({ baseURL: server.base, apiKey: MASTER });
  const created = await admin.admin.keys.create({ label: 'reader', scopes: ['sessions:read'], lifetimeDays: 7 });
  assert.ok(created.key.startsWith('titan_'));
  assert.deepEqual(created.scopes, ['sessions:read']);
  assert.equal(created.isActive, true);
  assert.ok(created.expiresAt);

  const mine = await client.account.keys.create({ label: 'sdk-made', scopes: ['messages:write'] });
  const ids = [];
  for await (const key of client.account.keys.list()) ids.push(key.id);
  assert.ok(ids.includes(mine.id));
  const updated = await client.account.keys.update(mine.id, { label: 'renamed', isActive: false });
  assert.deepEqual([updated.label, updated.isActive], ['renamed', false]);
  assert.equal((await client.account.keys.get(mine.id)).label, 'renamed');
  assert.equal(await client.account.keys.delete(mine.id), undefined);
  await assert.rejects(client.account.keys.get(mine.id), titan.NotFoundError);

  const reader = new Titan({ baseURL: server.base, apiKey: created.key });
  assert.ok(Array.isArray((await reader.sessions.list()).data));
});

test('sessions have a lifecycle with typed results', async () => {
  const session = await client.sessions.create({ name: 'lifecycle', config: { historySync: false } });
  assert.deepEqual([session.name, session.status, session.config.historySync], ['lifecycle', 'DISCONNECTED', false]);
  assert.ok(session.createdAt);
  const updated = await client.sessions.update('lifecycle', { proxy: 'socks5://127.0.0.1:1080' });
  assert.equal(updated.proxy, 'socks5://127.0.0.1:1080');
  assert.equal((await client.sessions.update('lifecycle', { proxy: '' })).proxy ?? null, null); // "" removes it
  assert.equal((await client.sessions.get('lifecycle')).proxy ?? null, null);
  await client.sessions.delete('lifecycle');
  await assert.rejects(client.sessions.get('lifecycle'), titan.NotFoundError);
});

test('for await walks every page', async () => {
  const names = ['page-0', 'page-1', 'page-2', 'page-3', 'page-4'];
  for (const name of names) await client.sessions.create({ name });
  const first = await client.sessions.list({ limit: 2 });
  assert.equal(first.data.length, 2);
  assert.ok(first.hasNextPage());
  const pages = [];
  for await (const page of first.iterPages()) pages.push(page);
  assert.ok(pages.length >= 3);
  assert.ok(!pages.at(-1).hasNextPage());
  const walked = [];
  for await (const session of client.sessions.list({ limit: 2 })) walked.push(session.name);
  for (const name of names) assert.ok(walked.includes(name), `${name} was not walked`);
  assert.equal(new Set(walked).size, walked.length);
  assert.equal(walked.length, pages.reduce((sum, page) => sum + page.data.length, 0));
  assert.equal((await first.getNextPage()).data[0].name, pages[1].data[0].name);
});

test('linked sessions exchange messages', async () => {
  await linked();
  const [alice] = ALICE;
  const [bob] = BOB;
  assert.equal((await client.sessions.get(alice)).phoneNumber, `+${ALICE[1]}`);
  const sent = await client.messages.send({ session: alice, chatId: `${BOB[1]}@s.whatsapp.net`, type: 'text', text: 'hello from node' });
  assert.equal(sent.fromMe, true);
  assert.equal(sent.type, 'text');

  const inbound = await waitFor('bob to receive the message', async () => {
    for await (const message of client.messages.list(bob, `${ALICE[1]}@s.whatsapp.net`, { limit: 50 })) {
      if (message.text === 'hello from node') return message;
    }
    return null;
  });
  assert.equal(inbound.id, sent.id);
  assert.equal(inbound.fromMe, false);
  const reply = await client.sessions.sendMessage(bob, {
    chatId: `${ALICE[1]}@s.whatsapp.net`,
    type: 'text',
    text: 'hi alice',
    quotedMessageId: inbound.id,
  });
  assert.equal(reply.quotedMessageId, inbound.id);
  await waitFor('alice to receive the reply', async () => {
    const page = await client.messages.list(alice, `${BOB[1]}@s.whatsapp.net`);
    return page.data.some((m) => m.text === 'hi alice' && !m.fromMe);
  });
  await waitFor("alice's message to be delivered", async () => {
    const page = await client.messages.list(alice, `${BOB[1]}@s.whatsapp.net`);
    return page.data.some((m) => m.id === sent.id && ['delivered', 'read'].includes(m.status));
  });
});

test('an image sent from a Buffer downloads back identical', async () => {
  await linked();
  const [alice] = ALICE;
  const [bob] = BOB;
  const photo = await readFile(new URL('../fixtures/media/photo.jpg', import.meta.url));
  const sent = await client.messages.send({
    session: alice,
    chatId: `${BOB[1]}@s.whatsapp.net`,
    type: 'image',
    base64: photo,
    caption: 'from a Buffer',
  });
  assert.deepEqual([sent.type, sent.mimeType, sent.fileLength], ['image', 'image/jpeg', photo.length]);
  const inbound = await waitFor('bob to receive the picture', async () => {
    const page = await client.messages.list(bob, `${ALICE[1]}@s.whatsapp.net`, { limit: 50 });
    return page.data.find((m) => m.id === sent.id) ?? null;
  });
  assert.ok(inbound.mediaId && inbound.mediaId !== sent.mediaId);
  const described = await client.media.get(bob, inbound.mediaId);
  assert.deepEqual([described.messageId, described.width, described.height], [sent.id, 640, 480]);
  const downloaded = await client.media.download(bob, inbound.mediaId);
  assert.ok(Buffer.isBuffer(downloaded));
  assert.ok(downloaded.equals(photo));
  await assert.rejects(
    client.messages.send({ session: alice, chatId: `${BOB[1]}@s.whatsapp.net`, type: 'sticker', base64: photo }),
    (error) => error instanceof titan.BadRequestError && /needs a WebP picture/.test(error.message),
  );
});

test('numbers, LIDs and the profile', async () => {
  await linked();
  const [alice] = ALICE;
  const [bob] = BOB;
  const checked = await client.contacts.check(alice, { phoneNumbers: [`+${BOB[1]}`, '15550000999'] });
  assert.deepEqual(checked.map((c) => [c.phoneNumber, c.onWhatsapp]), [[`+${BOB[1]}`, true], ['+15550000999', false]]);
  const lid = checked[0].lid;
  assert.match(lid, /@lid$/);
  assert.equal((await client.lids.byPhoneNumber(alice, BOB[1])).lid, lid);
  assert.equal((await client.lids.phoneNumber(alice, lid)).phoneNumber, `+${BOB[1]}`);
  const contact = await client.contacts.get(alice, `${BOB[1]}@s.whatsapp.net`);
  assert.deepEqual([contact.phoneNumber, contact.lid], [`+${BOB[1]}`, lid]);
  await assert.rejects(client.lids.byPhoneNumber(alice, '15550000999'), (error) => error instanceof titan.NotFoundError);
  await client.profile.setStatus(bob, { value: 'From Node' });
  const profile = await client.profile.get(bob);
  assert.deepEqual([profile.phoneNumber, profile.lid, profile.about], [`+${BOB[1]}`, lid, 'From Node']);
});

test('a group is created, grown and left', async () => {
  await linked();
  const [alice] = ALICE;
  const [bob] = BOB;
  const bobJid = `${BOB[1]}@s.whatsapp.net`;
  const group = await client.groups.create(alice, { name: 'Node group', participants: [bobJid] });
  assert.equal(group.name, 'Node group');
  assert.deepEqual(
    group.participants.map((p) => [p.phoneNumber, p.isSuperAdmin]).sort(),
    [[`+${ALICE[1]}`, true], [`+${BOB[1]}`, false]].sort(),
  );
  const statuses = (results) => results.map((r) => r.status);
  assert.deepEqual(statuses(await client.groups.participants.remove(alice, group.id, { participants: [bobJid] })), ['removed']);
  assert.deepEqual(statuses(await client.groups.participants.add(alice, group.id, { participants: [bobJid] })), ['added']);
  assert.deepEqual(statuses(await client.groups.participants.promote(alice, group.id, { participants: [bobJid] })), ['promoted']);
  const members = await client.groups.participants.list(bob, group.id);
  assert.deepEqual(members.filter((p) => p.isAdmin).map((p) => p.phoneNumber).sort(), [`+${ALICE[1]}`, `+${BOB[1]}`].sort());
  const invite = await client.groups.invite.get(alice, group.id);
  assert.equal(invite.link, `https://chat.whatsapp.com/${invite.code}`);
  assert.equal((await client.groups.previewInvite(bob, { inviteCode: invite.code })).id, group.id);
  await client.groups.leave(bob, group.id);
  await assert.rejects(
    client.groups.get(bob, group.id),
    (error) => error instanceof titan.NotFoundError || error instanceof titan.PermissionDeniedError,
  );
});

test('chats and contacts are listed and changed', async () => {
  await linked();
  const [alice] = ALICE;
  const [bob] = BOB;
  const bobJid = `${BOB[1]}@s.whatsapp.net`;
  const sent = await client.sessions.sendMessage(bob, { chatId: `${ALICE[1]}@s.whatsapp.net`, type: 'text', text: 'chat from node' });
  const bobChat = async () => {
    for await (const chat of client.chats.list(alice)) {
      if (chat.id === bobJid && chat.lastMessage?.id === sent.id) return chat;
    }
    return undefined;
  };
  const chat = await waitFor("bob's chat with his message", bobChat);
  assert.ok(chat.unreadCount >= 1 && !chat.archived && !chat.isGroup);
  const phones = [];
  for await (const contact of client.contacts.list(alice)) phones.push(contact.phoneNumber);
  assert.ok(phones.includes(`+${BOB[1]}`), phones.join());
  await client.chats.archive(alice, bobJid);
  await client.chats.pin(alice, bobJid);
  await client.messages.star(alice, { chatId: bobJid, messageId: sent.id, star: true });
  await client.chats.read(alice, bobJid);
  const changed = await client.chats.get(alice, bobJid);
  assert.deepEqual([changed.archived, changed.pinned, changed.unreadCount], [true, true, 0]);
  const starred = [];
  for await (const message of client.messages.list(alice, bobJid)) if (message.id === sent.id) starred.push(message.starred);
  assert.deepEqual(starred, [true]);
  await client.chats.unarchive(alice, bobJid);
  await client.chats.unpin(alice, bobJid);
  await assert.rejects(client.chats.get(alice, '15550000999@s.whatsapp.net'), (error) => error instanceof titan.NotFoundError);
});

test('labels are created, put on chats and deleted', async () => {
  await linked();
  const [alice] = ALICE;
  const bobJid = `${BOB[1]}@s.whatsapp.net`;
  const label = await client.labels.create(alice, { name: 'Node label', color: 4 });
  assert.deepEqual([label.name, label.color, label.chatIds], ['Node label', 4, []]);
  assert.deepEqual((await client.labels.addChats(alice, label.id, { chatIds: [bobJid] })).chatIds, [bobJid]);
  assert.equal((await client.labels.update(alice, label.id, { color: 5 })).color, 5);
  const listed = (await client.labels.list(alice)).filter((l) => l.id === label.id);
  assert.deepEqual(listed.map((l) => [l.name, l.color, l.chatIds]), [['Node label', 5, [bobJid]]]);
  assert.deepEqual((await client.labels.removeChats(alice, label.id, { chatIds: [bobJid] })).chatIds, []);
  await client.labels.delete(alice, label.id);
  await assert.rejects(client.labels.delete(alice, label.id), (error) => error instanceof titan.NotFoundError);
});

test('client tokens reach only what their rules allow', async () => {
  await linked();
  const [alice] = ALICE;
  const bobJid = `${BOB[1]}@s.whatsapp.net`;
  const rules = await client.clientTokens.setRules(alice, { recipientMode: 'any', allowedActions: 'send_message', rateLimit: 0, maxDaily: 0 });
  assert.deepEqual([rules.allowedActions, rules.enabled], ['send_message', true]);
  const minted = await client.clientTokens.create({ session: alice, ephemeralId: 'node-visitor', ttlSeconds: 120 });
  assert.match(minted.token, /^titan_ct_/);
  const browser = new titan.Titan({ baseURL: server.base, apiKey: minted.token });
  const sent = await browser.sessions.sendMessage(alice, { chatId: bobJid, type: 'text', text: 'from a node client token' });
  assert.equal(sent.text, 'from a node client token');
  await assert.rejects(async () => browser.sessions.list(), (error) => error instanceof titan.PermissionDeniedError);
  await client.clientTokens.setRules(alice, { recipientMode: 'any', allowedActions: 'send_message', enabled: false });
  await assert.rejects(
    browser.sessions.sendMessage(alice, { chatId: bobJid, type: 'text', text: 'refused' }),
    (error) => error instanceof titan.PermissionDeniedError,
  );
  await client.clientTokens.deleteRules(alice);
});

test('a status reaches the recipients it names, and only with status:write', async () => {
  await linked();
  const [alice] = ALICE;
  const [bob] = BOB;
  const bobJid = `${BOB[1]}@s.whatsapp.net`;
  const posted = await client.messages.send({
    session: alice, chatId: 'status@broadcast', type: 'text', text: 'node status',
    backgroundColor: '#FF336699', font: 'courierprime_bold', recipients: [bobJid],
  });
  assert.deepEqual([posted.chatId, posted.type, posted.status], ['status@broadcast', 'text', 'sent']);
  const seen = await waitFor("bob to see alice's status", async () => {
    const page = await client.messages.list(bob, 'status@broadcast');
    return page.data.find((m) => m.id === posted.id) ?? null;
  });
  assert.deepEqual([seen.text, seen.fromMe], ['node status', false]);
  await client.messages.delete(alice, { chatId: 'status@broadcast', messageId: posted.id, forEveryone: true });
  await waitFor('the status to be deleted for bob', async () => {
    const page = await client.messages.list(bob, 'status@broadcast');
    return page.data.some((m) => m.id === posted.id && m.type === 'revoke');
  });
  const { key } = await client.account.keys.create({ label: 'no status', scopes: ['messages:write'] });
  const limited = new titan.Titan({ baseURL: server.base, apiKey: key });
  const refused = await limited.messages
    .send({ session: alice, chatId: 'status@broadcast', type: 'text', text: 'x', recipients: [bobJid] })
    .catch((e) => e);
  assert.ok(refused instanceof titan.PermissionDeniedError);
  assert.match(refused.error, /status:write/);
});

test('a channel post reaches its follower', async () => {
  await linked();
  const [alice] = ALICE;
  const [bob] = BOB;
  const created = await client.channels.create(alice, { name: 'Node channel', description: 'From the SDK' });
  assert.deepEqual([created.role, created.subscriberCount], ['owner', 0]);
  assert.equal((await client.channels.getByInvite(bob, created.inviteCode)).id, created.id);
  assert.equal((await client.channels.follow(bob, created.id)).role, 'subscriber');
  const post = await client.messages.send({ session: alice, chatId: created.id, type: 'text', text: 'node channel post' });
  const received = await waitFor('bob to receive the channel post', async () => {
    const page = await client.messages.list(bob, created.id);
    return page.data.find((m) => m.id === post.id) ?? null;
  });
  assert.deepEqual([received.text, received.fromMe], ['node channel post', false]);
  const refused = await client.messages
    .send({ session: bob, chatId: created.id, type: 'text', text: 'not mine' })
    .catch((e) => e);
  assert.ok(refused instanceof titan.PermissionDeniedError);
  await client.channels.unfollow(bob, created.id);
  await client.channels.delete(alice, created.id);
  await assert.rejects(client.channels.get(alice, created.id), (error) => error instanceof titan.NotFoundError);
});

test('deferred commands answer Accepted', async () => {
  await linked();
  const accepted = await client.sessions.startDeferred(ALICE[0]);
  assert.ok(accepted.correlationId);
  assert.ok(accepted.requestId);
});

test('each error status throws its class, with status, error, docs and requestId', async () => {
  const bad = await client.sessions.create({ name: 'not a valid name!' }).catch((e) => e);
  assert.ok(bad instanceof titan.BadRequestError);
  assert.equal(bad.status, 400);
  assert.ok(bad.error);
  assert.match(bad.docs, /^http/);
  assert.ok(bad.requestId);
  assert.equal(bad.body.error, bad.error);
  assert.equal(bad.message, `400 ${bad.error}`);

  const unauthenticated = await new Titan({ baseURL: server.base, apiKey: 'titan_not-a-key' }).sessions.list().catch((e) => e);
  assert.ok(unauthenticated instanceof titan.AuthenticationError);
  assert.equal(unauthenticated.status, 401);

  const limited = await client.account.keys.create({ label: 'read-only', scopes: ['sessions:read'] });
  const denied = await new Titan({ baseURL: server.base, apiKey: limited.key }).sessions.create({ name: 'forbidden' }).catch((e) => e);
  assert.ok(denied instanceof titan.PermissionDeniedError);
  assert.equal(denied.status, 403);
  assert.match(denied.error, /sessions:manage/);

  const missing = await client.sessions.get('no-such-session').catch((e) => e);
  assert.ok(missing instanceof titan.NotFoundError);
  assert.equal(missing.status, 404);

  await client.sessions.create({ name: 'twice' });
  const conflict = await client.withOptions({ maxRetries: 0 }).sessions.create({ name: 'twice' }).catch((e) => e);
  assert.ok(conflict instanceof titan.ConflictError);
  assert.equal(conflict.status, 409);
  // One Idempotency-Key for two different requests: the second is refused with 422.
  await client.sessions.create({ name: 'keyed-1', idempotencyKey: 'node-422' });
  const reused = await client.sessions.create({ name: 'keyed-2', idempotencyKey: 'node-422' }).catch((e) => e);
  assert.ok(reused instanceof titan.UnprocessableEntityError, String(reused));
  assert.equal(reused.status, 422);
  await assert.rejects(client.sessions.get('keyed-2'), titan.NotFoundError);
  for (const error of [bad, unauthenticated, denied, missing, conflict, reused]) {
    assert.ok(error instanceof titan.APIError && error instanceof Error);
    assert.ok(!(error instanceof titan.APIConnectionError));
  }
});

test('events.stream() yields live events', async () => {
  let done = false;
  const making = (async () => {
    for (let i = 0; i < 100 && !done; i += 1) {
      await client.sessions.create({ name: `sse-${i}` });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  try {
    for await (const event of client.events.stream({ events: 'session.status' })) {
      if (event.session.startsWith('sse-')) {
        assert.equal(event.event, 'session.status');
        assert.match(event.id, /^evt_/);
        assert.equal(event.payload.status, 'DISCONNECTED');
        break;
      }
    }
  } finally {
    done = true;
    await making;
  }
});

test('a real webhook delivery verifies under both schemes', async () => {
  const receiver = await webhookReceiver();
  try {
    const hook = await client.webhooks.create({ url: receiver.url, events: ['session.status'], session: 'hooked' });
    assert.ok(hook.hmacKey);
    await client.sessions.create({ name: 'hooked' });
    const { headers, body } = await receiver.next();
    titan.verifyWebhook(body, headers, hook.hmacKey);
    const event = titan.unwrapWebhook(body, headers, hook.hmacKey);
    assert.deepEqual([event.event, event.session], ['session.status', 'hooked']);
    assert.ok(['CONNECTING', 'CONNECTED', 'DISCONNECTED'].includes(event.payload.status), event.payload.status);
    assert.ok('statusReason' in event.payload);
    assert.throws(() => titan.verifyWebhook(Buffer.concat([body, Buffer.from(' ')]), headers, hook.hmacKey), titan.InvalidWebhookSignatureError);
    assert.throws(() => titan.verifyWebhook(body, headers, `whsec_${'A'.repeat(32)}`), titan.InvalidWebhookSignatureError);
    const legacy = Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('webhook-')));
    assert.ok(legacy['x-webhook-signature']);
    titan.verifyWebhook(body.toString('utf8'), legacy, hook.hmacKey); // X-Webhook-Signature alone
    const standard = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'x-webhook-signature'));
    titan.verifyWebhook(body, new Headers(standard), hook.hmacKey); // Standard Webhooks alone
    const deliveries = [];
    for await (const delivery of client.webhooks.deliveries.list(hook.id)) deliveries.push(delivery);
    assert.ok(deliveries.length > 0);
    assert.equal(deliveries[0].event, 'session.status');
  } finally {
    receiver.close();
  }
});
