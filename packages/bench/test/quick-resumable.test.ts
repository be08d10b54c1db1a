import t from 'tap';
import { checkQuickRun, QUICK_GROUPS } from './quick-check.js';

t.test('pnpm bench --quick: resumable uploads and listing', (t) => checkQuickRun(t, QUICK_GROUPS.resumable));
