import t from 'tap';
import { checkQuickRun, QUICK_GROUPS, ungroupedCases } from './quick-check.js';

t.test('pnpm bench --quick: uploads, downloads, hashing, disk writes and the login flood', (t) => checkQuickRun(t, QUICK_GROUPS.transfers));

t.test('every bench case is in one of the quick groups', async (t) => t.same(ungroupedCases(), []));
