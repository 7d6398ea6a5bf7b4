// Folding by brackets, as the language defines them: a `{...}` block or a `[...]` list that
// spans lines folds, and so does a run of two or more comment lines. Brackets inside strings
// and comments do not count (a string runs to its closing quote or the end of the line, with
// `\` escaping the next character, as in grammar/charter.pest).
//
// VS Code's language configuration cannot fold by brackets (without a provider it folds by
// indentation), so the extension registers this provider. `foldingRanges` is pure and free of
// `vscode` so that test/tokenize.mjs can run it under plain node.
'use strict';

/**
 * The folding ranges of a charter text.
 * @param {string} text
 * @returns {{ start: number, end: number, kind: 'region' | 'comment' }[]} zero-based lines;
 *   a bracket range ends on the line before its closing bracket when that bracket starts its
 *   line, so the closing line stays visible
 */
function foldingRanges(text) {
  const lines = text.split(/\r?\n|\r/);
  const ranges = [];
  const open = []; // stack of { line } for unclosed brackets
  let commentRun = -1; // first line of the current run of comment-only lines
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    let i = 0;
    let onlyComment = false;
    while (i < line.length) {
      const c = line[i];
      if (c === '#') {
        onlyComment = line.slice(0, i).trim() === '';
        break;
      } else if (c === '"') {
        i++;
        while (i < line.length && line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
      } else if (c === '{' || c === '[') {
        open.push(n);
      } else if ((c === '}' || c === ']') && open.length > 0) {
        const start = open.pop();
        const end = line.slice(0, i).trim() === '' ? n - 1 : n;
        if (end > start) ranges.push({ start, end, kind: 'region' });
      }
      i++;
    }
    if (onlyComment) {
      if (commentRun < 0) commentRun = n;
    } else {
      if (commentRun >= 0 && n - 1 > commentRun) {
        ranges.push({ start: commentRun, end: n - 1, kind: 'comment' });
      }
      commentRun = -1;
    }
  }
  if (commentRun >= 0 && lines.length - 1 > commentRun) {
    ranges.push({ start: commentRun, end: lines.length - 1, kind: 'comment' });
  }
  return ranges.sort((a, b) => a.start - b.start || b.end - a.end);
}

module.exports = { foldingRanges };
