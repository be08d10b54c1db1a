import t from 'tap';
import { checkQuickRun, QUICK_GROUPS } from './quick-check.js';

t.test('pnpm bench --quick: the CLI, claims, concurrent uploads and small requests', (t) => checkQuickRun(t, QUICK_GROUPS.clients));
