import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { startFileServer } from './helpers/file-server.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { assertNothingLeft, storageState } from './helpers/storage-state.js';

const CONTROL_CHARACTERS = [
  ...Array.from({ length: 0x20 }, (_, code) => code),
  ...Array.from({ length: 0xa0 - 0x7f }, (_, index) => 0x7f + index),
].map((code) => String.fromCharCode(code));

/** A name as a test message shows it: every character outside printable ASCII escaped (TAP is line-based). */
const shown = (name: string): string =>
  JSON.stringify(name).replace(/[^\x20-\x7e]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** The two names a client reads in `Content-Disposition`, the RFC 5987 one decoded. */
function dispositionNames(header: string): { ascii?: string; extended?: string } {
  const ascii = /(?:^|;\s*)filename="([^"]*)"/.exec(header)?.[1];
  const extended = /(?:^|;\s*)filename\*=UTF-8''([^;\s]*)/.exec(header)?.[1];
  return { ascii, extended: extended === undefined ? undefined : decodeURIComponent(extended) };
}

forEachDatabase(t, async (t, kind) => {
  const {
    server,
    db,
    drives: [alice, bob],
  } = await startFileServer(t, kind, ['alice', 'bob']);

  t.test('names are NFC-normalised in uploads, lookups, claims and deletes', async (t) => {
    const nfd = 'Cafe\u0301 \u1100\u1161.txt';
    const nfc = nfd.normalize('NFC');
    t.not(nfd, nfc);
    const content = randomContent(1000);
    const raw = await alice.upload(nfd, content);
    t.equal(raw.status, 201);
    t.equal(raw.body.filename, nfc, 'the reply names the NFC form');
    for (const name of [nfc, nfd]) t.ok((await alice.download(name)).raw.equals(content), `found as ${name === nfc ? 'NFC' : 'NFD'}`);
    const again = await alice.uploadForm(nfc, randomContent(10));
    t.equal(again.body.replaced, true, 'NFC and NFD are one name');

    const fromPart = await alice.uploadParts([{ name: 'file', filename: 'Re\u0301sume\u0301.pdf', content }]);
    t.equal(fromPart.body.filename, 'Résumé.pdf', "the part's own filename is normalised too");
    t.equal((await alice.download('Résumé.pdf')).status, 200);

    const claimed = await alice.claimWithProof('Cópia\u0301.bin'.normalize('NFD'), content);
    t.equal(claimed.status, 201);
    t.equal(claimed.body.filename, 'Cópia\u0301.bin'.normalize('NFC'));

    const deleted = await alice.delete(nfd);
    t.same(deleted.body, { filename: nfc, deleted: true });
    t.equal((await alice.download(nfc)).status, 404);
  });

  t.test('a name is 1 to 255 bytes of UTF-8, counted after NFC', async (t) => {
    const accepted = {
      '255 ASCII bytes': 'a'.repeat(255),
      '255 bytes of two-byte characters and one ASCII': 'é'.repeat(127) + 'a',
      '255 bytes of four-byte characters': '😀'.repeat(63) + 'abc',
      '300 bytes in NFD, 200 in NFC': 'e\u0301'.repeat(100),
    };
    for (const [what, name] of Object.entries(accepted)) {
      const reply = await alice.upload(name, randomContent(10));
      t.equal(reply.status, 201, what);
      t.equal((await alice.download(name)).status, 200, `${what}: found again`);
    }
    const refused = {
      '256 ASCII bytes': 'a'.repeat(256),
      '256 bytes of two-byte characters': 'é'.repeat(128),
      '255 bytes that NFC makes 510': '\u0958'.repeat(85),
      empty: '',
    };
    const before = await storageState(server, db);
    for (const [what, name] of Object.entries(refused)) {
      const reply = await alice.upload(name, randomContent(10));
      t.equal(reply.status, 400, what);
      t.equal(reply.body.code, 'VALIDATION_FAILED', what);
    }
    await assertNothingLeft(t, server, db, before, 'a refused name');
  });

  t.test('every control character, slash and dot name is refused, on every route', async (t) => {
    const content = randomContent(100);
    const before = await storageState(server, db);
    const names = [
      ...CONTROL_CHARACTERS.map((character) => `a${character}b.txt`),
      '.',
      '..',
      'a/b',
      '/',
      '\\',
      'a\\b',
      '../etc/passwd',
      '..\\boot.ini',
    ];
    for (const name of names) {
      const label = shown(name);
      const replies = {
        raw: await alice.upload(name, content),
        multipart: await alice.uploadForm(name, content),
        claim: await alice.claim(name, content),
        download: await alice.download(name),
        delete: await alice.delete(name),
      };
      for (const [route, reply] of Object.entries(replies)) {
        if (reply.status !== 400 || reply.body.code !== 'VALIDATION_FAILED')
          t.fail(`${route} ${label}: ${reply.status} ${reply.body.code}`);
      }
    }
    t.pass(`${names.length} names refused by upload, claim, download and delete`);
    const loneSurrogate = await alice.claim('a\ud800.txt', content);
    t.equal(loneSurrogate.status, 400, 'a lone surrogate is not UTF-8');
    await assertNothingLeft(t, server, db, before, 'a refused name');
    for (const name of ['...', '.hidden', 'a..b', ' .', '. '])
      t.equal((await alice.upload(name, content)).status, 201, `${shown(name)} is a fine name`);
  });

  t.test('Content-Disposition always carries both forms, and nothing in a name can break it', async (t) => {
    const names = [
      'plain.txt',
      'say "hi".txt',
      'résumé 2026.pdf',
      '😀.txt',
      'a;b,c=d%20e.txt',
      'evil%0d%0aSet-Cookie: x=y',
      "it's ~ (1) [2] {3} <4> *5* +6+ &7& $8$ #9# !.txt",
      'tab\u00a0nbsp\u2028line\u2029para.txt',
    ];
    for (const name of names) {
      const label = shown(name);
      t.equal((await alice.upload(name, randomContent(10))).status, 201, label);
      const reply = await alice.download(name);
      const header = String(reply.headers['content-disposition']);
      t.match(header, /^attachment; /, label);
      const { ascii, extended } = dispositionNames(header);
      t.equal(extended, name, `${label}: filename* gives the exact name`);
      t.equal(
        ascii,
        [...name].map((character) => (/^[\x20-\x7e]$/.test(character) && !'"\\'.includes(character) ? character : '_')).join(''),
        `${label}: filename= is safe ASCII`,
      );
      t.notOk(reply.headers['set-cookie'], `${label}: no header injected`);
    }
    t.equal(dispositionNames(String((await alice.download('say "hi".txt')).headers['content-disposition'])).ascii, 'say _hi_.txt');
    t.equal(
      String((await alice.download('plain.txt')).headers['content-disposition']),
      `attachment; filename="plain.txt"; filename*=UTF-8''plain.txt`,
    );
    const crlf = await alice.upload('evil\r\nSet-Cookie: x=y', randomContent(10));
    t.equal(crlf.status, 400, 'CR and LF are control characters');
    t.notOk(crlf.headers['set-cookie']);
  });

  t.test('names are byte-exact: case and trailing spaces make other names', async (t) => {
    const variants = ['Report.pdf', 'report.pdf', 'report.pdf ', ' report.pdf', 'report.pdf\u00a0', 'REPORT.PDF'];
    const contents = variants.map(() => randomContent(64));
    for (const [index, name] of variants.entries()) {
      const reply = await alice.upload(name, contents[index]);
      t.same([reply.status, reply.body.replaced], [201, false], shown(name));
    }
    for (const [index, name] of variants.entries()) {
      const download = await alice.download(name);
      t.equal(sha256Hex(download.raw), sha256Hex(contents[index]), `${shown(name)} is its own file`);
    }
    t.equal((await alice.delete('report.pdf ')).status, 200);
    t.equal((await alice.download('report.pdf')).status, 200, 'deleting one leaves the other');
  });

  t.test('a name is unique per owner, not globally', async (t) => {
    const mine = randomContent(64);
    const theirs = randomContent(64);
    t.equal((await alice.upload('common.txt', mine)).body.replaced, false);
    t.equal((await bob.upload('common.txt', theirs)).body.replaced, false);
    t.ok((await alice.download('common.txt')).raw.equals(mine));
    t.ok((await bob.download('common.txt')).raw.equals(theirs));
  });
});
