import t from 'tap';
import { checkQuickRun } from './quick-check.js';

t.test('pnpm bench --quick: resumable uploads and listing', (t) => checkQuickRun(t, ['resumable', 'listing']));
