import t from 'tap';
import { checkQuickRun } from './quick-check.js';

t.test('pnpm bench --quick: uploads, downloads, hashing and disk writes', (t) =>
  checkQuickRun(t, ['raw-upload', 'multipart-upload', 'download', 'hashing', 'disk-writes']),
);
