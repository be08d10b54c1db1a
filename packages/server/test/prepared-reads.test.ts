import { DATABASES, createTestDatabase } from '@cloudstore/test-helpers';
import t from 'tap';
import { openDatabase } from '../src/db/open.js';
import { openPreparedReads } from '../src/db/prepared-reads.js';

const BY_KEY = 'select label, k from prepared_reads_test where k = ? limit 1';
const BY_LABEL = 'select k from prepared_reads_test where label = ? limit 1';

for (const kind of DATABASES) {
  t.test(`prepared reads on ${kind}: many asked at once, each answered with its own row`, async (t) => {
    const database = await createTestDatabase(t, kind);
    const db = await openDatabase({ ...database, logLevel: 'silent' });
    const reads = openPreparedReads(db);
    t.teardown(async () => {
      await reads.close();
      await db.destroy();
    });
    await db.schema.createTable('prepared_reads_test', (table) => {
      table.bigInteger('k').notNullable();
      table.string('label', 32).notNullable();
    });
    await db('prepared_reads_test').insert(Array.from({ length: 40 }, (_, k) => ({ k, label: `row ${k}` })));

    // 50 reads by key in one turn (past one statement's bound on MySQL), misses among them, a key
    // asked twice; reads of another text beside them; one read alone afterwards.
    const keys = [...Array.from({ length: 45 }, (_, index) => (index * 7) % 60), 3, 3, -1, 1000, 39];
    const [byKey, byLabel] = await Promise.all([
      Promise.all(keys.map((k) => reads.first<{ label: string; k: number }>(BY_KEY, [k]))),
      Promise.all(['row 5', 'row 77', 'row 0'].map((label) => reads.first<{ k: number }>(BY_LABEL, [label]))),
    ]);
    t.same(
      byKey,
      keys.map((k) => (k >= 0 && k < 40 ? { label: `row ${k}`, k } : undefined)),
      'each read has its own row (or none), and nothing else in it',
    );
    t.same(byLabel, [{ k: 5 }, undefined, { k: 0 }]);
    t.same(await reads.first(BY_KEY, [12]), { label: 'row 12', k: 12 }, 'a read alone');

    // Bindings reach the database whole, whatever the batch: a long label one character past a
    // stored one does not match it, a multibyte one does, and a number past 32 bits compares as itself.
    const long = 'x'.repeat(32);
    const emoji = '\u{1F600}'.repeat(8);
    const big = 2 ** 41 + 1;
    await db('prepared_reads_test').insert([
      { k: 100, label: long },
      { k: 101, label: emoji },
      { k: big, label: 'big' },
    ]);
    const askedTogether = await Promise.all([
      reads.first(BY_LABEL, [`${long}y`]),
      reads.first(BY_LABEL, [long]),
      reads.first(BY_LABEL, [emoji]),
      reads.first(BY_LABEL, [emoji.slice(0, -2)]),
      reads.first(BY_KEY, [big]),
      reads.first(BY_KEY, [big - 1]),
    ]);
    t.same(askedTogether, [undefined, { k: 100 }, { k: 101 }, undefined, { label: 'big', k: big }, undefined]);

    // A change committed before a read is asked is what it sees: nothing is kept between turns.
    await db('prepared_reads_test').where({ k: 12 }).update({ label: 'changed' });
    t.same(await reads.first(BY_KEY, [12]), { label: 'changed', k: 12 });

    // A failing text fails its own reads only.
    const failing = 'select nothing from prepared_reads_test where k = ? limit 1';
    const results = await Promise.allSettled([reads.first(failing, [1]), reads.first(failing, [2]), reads.first(BY_KEY, [1])]);
    t.same(
      results.map((result) => result.status),
      ['rejected', 'rejected', 'fulfilled'],
    );
  });
}
