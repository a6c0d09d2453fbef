/**
 * POST /api/v1/lists against the real list manager and a counting list server on loopback: a list
 * is fetched once when added, and `force` adds one the guards would refuse (an empty list).
 */
import { afterEach, beforeEach, expect, test } from 'vitest';
import { startListServer, type ListServer } from '../helpers/list-server.js';
import { startLocalUpstream, type LocalUpstream } from '../helpers/local-upstream.js';
import { startStack, type Stack } from '../helpers/stack.js';

let lists: ListServer;
let upstream: LocalUpstream;
let stack: Stack;

beforeEach(async () => {
  lists = await startListServer();
  upstream = await startLocalUpstream();
  stack = await startStack({
    upstreams: [upstream.address],
    config: { lists: { allowPrivateSources: ['127.0.0.0/8'] } },
  });
});

afterEach(async () => {
  await stack.close();
  await upstream.close();
  await lists.close();
});

test('adding a list fetches its URL once', async () => {
  lists.set('/feed.txt', { body: 'feed-pool.example\nother-pool.example\n' });
  const added = await stack.api('/api/v1/lists', {
    method: 'POST',
    body: { name: 'feed', source: lists.url('/feed.txt') },
  });
  expect(added).toMatchObject({ status: 201, body: { list: { name: 'feed', entries: 2 } } });
  expect(lists.requestsTo('/feed.txt')).toHaveLength(1);
  // Once the add has settled nothing else fetches it: the next refresh is refreshSec away.
  const check = await stack.api('/api/v1/check?domain=x.feed-pool.example');
  expect(check.body).toMatchObject({ verdict: 'block', list: 'feed' });
  expect(lists.requestsTo('/feed.txt')).toHaveLength(1);
});

test('a list the guards refuse (no entries) is 422, and added with force=true', async () => {
  lists.set('/empty.txt', { body: '# nothing listed yet\n' });
  const definition = { name: 'empty', source: lists.url('/empty.txt') };
  const refused = await stack.api('/api/v1/lists', { method: 'POST', body: definition });
  expect(refused.status).toBe(422);
  expect(JSON.stringify(refused.body)).toContain('force');
  const forced = await stack.api('/api/v1/lists?force=true', { method: 'POST', body: definition });
  expect(forced).toMatchObject({ status: 201, body: { list: { name: 'empty', entries: 0 } } });
  expect(lists.requestsTo('/empty.txt')).toHaveLength(2); // one per POST
});
