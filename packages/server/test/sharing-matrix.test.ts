import t, { type Test } from 'tap';
import { ROUTES } from '@cloudstore/shared';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { Client, type Reply } from './helpers/client.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { Drive } from './helpers/drive.js';
import { Permits, signUp, type Entry, type Member } from './helpers/permits.js';

// The authorisation matrix (issue 5): every route of API.md's files and sharing sections, tried
// by each kind of caller on one file of the owner's, each cell asserting the exact answer.

const ROLES = ['owner', 'friend', 'former friend', 'stranger', 'anonymous', 'revoked token'] as const;
type Role = (typeof ROLES)[number];

interface Cell {
  status: number;
  /** The error code; none on success. */
  code?: string;
  check?: (t: Test, reply: Reply, filename: string) => void;
}

interface Row {
  route: string;
  /** Roles in the order they act: whoever changes the file acts last. */
  order?: Role[];
  act: (actor: Member, filename: string) => Promise<Reply>;
  cells: Record<Role, Cell>;
}

const unauthenticated: Cell = { status: 401, code: 'UNAUTHENTICATED' };
const notFound: Cell = { status: 404, code: 'FILE_NOT_FOUND' };
const notOwner: Cell = { status: 403, code: 'NOT_OWNER' };
const lastOwner: Role[] = ['friend', 'former friend', 'stranger', 'anonymous', 'revoked token', 'owner'];

const uploaded = (replaced: boolean): Cell => ({
  status: 201,
  check: (t, reply) => t.equal(reply.body.replaced, replaced, `replaced is ${replaced}`),
});

const listed = (role: 'owner' | 'friend' | null): Cell => ({
  status: 200,
  check: (t, reply, filename) => {
    const entries = (reply.body.files as Entry[]).filter((entry) => entry.filename === filename);
    t.same(
      entries.map((entry) => entry.role),
      role ? [role] : [],
      role ? `listed as ${role}` : 'not listed',
    );
  },
});

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);
  const owner = await signUp(client, 'owner');
  const friend = await signUp(client, 'friend');
  const former = await signUp(client, 'former');
  const stranger = await signUp(client, 'stranger');
  const companion = await signUp(client, 'companion');
  const newcomer = await signUp(client, 'newcomer');
  const revokedToken = (await client.login('owner')).body.token as string;
  t.equal((await client.call('POST', ROUTES.logout, { token: revokedToken })).status, 204);
  const actors: Record<Role, Member> = {
    owner,
    friend,
    'former friend': former,
    stranger,
    anonymous: { name: 'nobody', drive: new Drive(client, ''), permits: new Permits(client) },
    'revoked token': { name: 'owner', drive: new Drive(client, revokedToken), permits: new Permits(client, revokedToken) },
  };

  /** A file of the owner's of its own for each row: shared with friend and companion; former was a friend. */
  let files = 0;
  async function ownersFile(): Promise<{ filename: string; content: Buffer }> {
    const filename = `matrix ${++files}.txt`;
    const content = randomContent(2048);
    t.equal((await owner.drive.upload(filename, content)).status, 201);
    for (const reader of [friend, former, companion]) t.equal((await owner.permits.share(filename, reader.name)).status, 201);
    t.equal((await owner.permits.revoke(filename, former.name)).status, 200);
    return { filename, content };
  }

  function run(row: Row) {
    t.test(row.route, async (t) => {
      const { filename } = await ownersFile();
      for (const role of row.order ?? ROLES) {
        const cell = row.cells[role];
        const reply = await row.act(actors[role], filename);
        t.equal(reply.status, cell.status, `${role}: status ${cell.status}`);
        t.equal(reply.body?.code, cell.code, `${role}: code ${cell.code ?? 'none'}`);
        cell.check?.(t, reply, filename);
      }
    });
  }

  run({
    route: 'GET /cloud/my-drive/?filename=',
    act: (actor, filename) => actor.drive.download(filename),
    cells: {
      owner: { status: 200 },
      friend: { status: 200 },
      'former friend': notFound,
      stranger: notFound,
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  run({
    route: 'GET /cloud/my-drive/?filename=&owner=',
    act: (actor, filename) => actor.drive.download(filename, {}, 'OWNER'),
    cells: {
      owner: { status: 200 },
      friend: { status: 200 },
      'former friend': notFound,
      stranger: notFound,
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  // An upload always goes to the caller's own drive: only the owner replaces the owner's file.
  run({
    route: 'POST /cloud/my-drive/ (multipart)',
    act: (actor, filename) => actor.drive.uploadForm(filename, randomContent(512)),
    cells: {
      owner: uploaded(true),
      friend: uploaded(false),
      'former friend': uploaded(false),
      stranger: uploaded(false),
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  run({
    route: 'POST /cloud/my-drive/?filename= (raw)',
    act: (actor, filename) => actor.drive.upload(filename, randomContent(512)),
    cells: {
      owner: uploaded(true),
      friend: uploaded(false),
      'former friend': uploaded(false),
      stranger: uploaded(false),
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  t.test('POST /cloud/my-drive/ (claim)', async (t) => {
    const { content } = await ownersFile();
    const cells: Record<Role, Cell> = {
      owner: { status: 428, code: 'PROOF_REQUIRED' },
      friend: { status: 428, code: 'PROOF_REQUIRED' },
      // One owner holds this content: below any threshold, so only its readers may learn of it.
      'former friend': { status: 404, code: 'CONTENT_UNKNOWN' },
      stranger: { status: 404, code: 'CONTENT_UNKNOWN' },
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    };
    for (const role of ROLES) {
      const reply = await actors[role].drive.claim('claimed.txt', content);
      t.equal(reply.status, cells[role].status, `${role}: status ${cells[role].status}`);
      t.equal(reply.body?.code, cells[role].code, `${role}: code ${cells[role].code}`);
    }
  });

  run({
    route: 'DELETE /cloud/my-drive/',
    order: lastOwner,
    act: (actor, filename) => actor.drive.delete(filename),
    cells: {
      owner: { status: 200, check: (t, reply) => t.same(reply.body, { filename: reply.body.filename, deleted: true }) },
      friend: notOwner,
      'former friend': notFound,
      stranger: notFound,
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  run({
    route: 'GET /cloud/drive-permit/',
    act: (actor) => actor.permits.list('?limit=1000'),
    cells: {
      owner: listed('owner'),
      friend: listed('friend'),
      'former friend': listed(null),
      stranger: listed(null),
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  run({
    route: 'POST /cloud/drive-permit/',
    order: lastOwner,
    act: (actor, filename) => actor.permits.share(filename, newcomer.name),
    cells: {
      owner: {
        status: 201,
        check: (t, reply) => t.same(reply.body, { filename: reply.body.filename, owner: 'owner', username: 'newcomer', role: 'friend' }),
      },
      friend: notOwner,
      'former friend': notFound,
      stranger: notFound,
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  run({
    route: 'PUT /cloud/drive-permit/',
    order: lastOwner,
    act: (actor, filename) => actor.permits.transfer(filename, newcomer.name),
    cells: {
      owner: {
        status: 200,
        check: (t, reply) => t.same(reply.body, { filename: reply.body.filename, owner: 'newcomer', previous_owner: 'owner' }),
      },
      friend: notOwner,
      'former friend': notFound,
      stranger: notFound,
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  run({
    route: 'DELETE /cloud/drive-permit/ (someone else)',
    order: lastOwner,
    act: (actor, filename) => actor.permits.revoke(filename, companion.name),
    cells: {
      owner: {
        status: 200,
        check: (t, reply) => t.same(reply.body, { filename: reply.body.filename, username: 'companion', revoked: true }),
      },
      friend: notOwner,
      'former friend': notFound,
      stranger: notFound,
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  run({
    route: 'DELETE /cloud/drive-permit/ (oneself)',
    act: (actor, filename) => actor.permits.revoke(filename, actor.name),
    cells: {
      owner: { status: 400, code: 'VALIDATION_FAILED' },
      friend: {
        status: 200,
        check: (t, reply) => t.same(reply.body, { filename: reply.body.filename, username: 'friend', revoked: true }),
      },
      'former friend': notFound,
      stranger: notFound,
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  run({
    route: 'GET /cloud/drive-share/:filename/',
    act: (actor, filename) => actor.permits.friends(filename),
    cells: {
      owner: {
        status: 200,
        check: (t, reply) =>
          t.same((reply.body.friends as { username: string }[]).map((entry) => entry.username).sort(), ['companion', 'friend']),
      },
      friend: notOwner,
      'former friend': notFound,
      stranger: notFound,
      anonymous: unauthenticated,
      'revoked token': unauthenticated,
    },
  });

  t.test('a successful download is the content itself', async (t) => {
    const { filename, content } = await ownersFile();
    for (const reader of [owner, friend]) {
      const reply = await reader.drive.download(filename);
      t.equal(sha256Hex(reply.raw), sha256Hex(content), `${reader.name} reads the owner's bytes`);
    }
  });
});
