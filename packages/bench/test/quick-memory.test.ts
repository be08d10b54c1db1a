import t from 'tap';
import { checkQuickRun } from './quick-check.js';

t.test('pnpm bench --quick: memory, stalled uploads, S3 and the profile', (t) =>
  checkQuickRun(t, ['memory', 'stalled-uploads', 's3', 'profile']),
);
