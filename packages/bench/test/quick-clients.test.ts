import t from 'tap';
import { checkQuickRun } from './quick-check.js';

t.test('pnpm bench --quick: the CLI, claims, concurrent uploads and small requests', (t) =>
  checkQuickRun(t, ['cli', 'claim', 'concurrent', 'small-requests']),
);
