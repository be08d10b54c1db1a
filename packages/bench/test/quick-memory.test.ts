import t from 'tap';
import { checkQuickRun, QUICK_GROUPS } from './quick-check.js';

t.test('pnpm bench --quick: memory, stalled uploads, S3 and the profile', (t) => checkQuickRun(t, QUICK_GROUPS.memory));
