/**
 * Control characters (Unicode Cc) and the bidirectional controls (U+200E, U+200F, U+202A to
 * U+202E, U+2066 to U+2069): what a name from the server could use to move the cursor, rewrite
 * the screen or show itself in another order (CLI.md, "What the server sends is data").
 */
const UNSAFE = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;

/** Text for a terminal, with each unsafe character shown as its escape (`\u202e`). */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
