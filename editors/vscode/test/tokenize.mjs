// The extension's grammar, tokenised the way VS Code does it (vscode-textmate with the
// Oniguruma regex engine compiled to WebAssembly), over every `.charter` file of the repository.
//
// Checks:
// 1. package.json, the grammar and the language configuration agree (paths, language id, scope).
// 2. Every file tokenises without an exception, and every line's tokenisation terminates
//    (vscode-textmate stops a line early when a rule loops; that counts as a failure).
// 3. In the valid files (policies/, tests/ui/pass/, tests/diff/, tests/fixtures/, and the
//    tests/ui files that expect no syntax code E00xx) no token carries an `invalid` scope.
// 4. In the valid files, comments and strings are where a hand-written scanner that follows
//    grammar/charter.pest finds them, character by character, and nowhere else.
// 5. A table of expectations: a line, a token's text and the scope it must carry.
// 6. The invalid samples are marked invalid where they are wrong.
// 7. Folding by brackets (src/folding.js).
//
// Run by test/run; exits 1 with one line per failure.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');
const { foldingRanges } = require('../src/folding.js');

const here = path.dirname(fileURLToPath(import.meta.url));
const extDir = path.resolve(here, '..');
const repo = path.resolve(extDir, '../..');

const failures = [];
const fail = (msg) => failures.push(msg);

// ---- 1. the manifest ----
const pkg = JSON.parse(fs.readFileSync(path.join(extDir, 'package.json'), 'utf8'));
const lang = (pkg.contributes?.languages ?? []).find((l) => l.id === 'charter');
const gram = (pkg.contributes?.grammars ?? []).find((g) => g.language === 'charter');
if (!lang) fail('package.json: no contributed language `charter`');
if (!gram) fail('package.json: no grammar contributed for the language `charter`');
if (lang && !(lang.extensions ?? []).includes('.charter')) fail('package.json: the language `charter` does not claim `.charter`');
if (pkg.main !== './src/extension.js' || !fs.existsSync(path.join(extDir, pkg.main))) fail(`package.json: main \`${pkg.main}\` is not ./src/extension.js or is missing`);
if (!(pkg.activationEvents ?? []).includes('onLanguage:charter')) fail('package.json: no activation event `onLanguage:charter`');
const props = pkg.contributes?.configuration?.properties ?? {};
for (const key of ['charter.server.path', 'charter.server.extraArgs', 'charter.trace.server']) {
  if (!props[key]) fail(`package.json: setting \`${key}\` is not contributed`);
}
const commands = (pkg.contributes?.commands ?? []).map((c) => c.command);
if (!commands.includes('charter.restartServer')) fail('package.json: command `charter.restartServer` is not contributed');
const grammarPath = path.join(extDir, gram?.path ?? 'syntaxes/charter.tmLanguage.json');
const configPath = path.join(extDir, lang?.configuration ?? 'language-configuration.json');
for (const p of [grammarPath, configPath]) {
  if (!fs.existsSync(p)) fail(`package.json names \`${path.relative(extDir, p)}\`, which does not exist`);
}
if (failures.length) finish();
const grammarJson = JSON.parse(fs.readFileSync(grammarPath, 'utf8'));
if (grammarJson.scopeName !== gram.scopeName || gram.scopeName !== 'source.charter') {
  fail(`scope names disagree: package.json \`${gram.scopeName}\`, grammar \`${grammarJson.scopeName}\` (want source.charter)`);
}
const langConfig = JSON.parse(fs.readFileSync(configPath, 'utf8'));
if (langConfig.comments?.lineComment !== '#') fail('language-configuration.json: the line comment is not `#`');
const wordPattern = new RegExp(`^(?:${langConfig.wordPattern})$`);
for (const w of ['lko-01', 'full_organization_access', 'a']) {
  if (!wordPattern.test(w)) fail(`language-configuration.json: wordPattern does not match the id \`${w}\``);
}
for (const w of ['Lko', '-x', '1a']) {
  if (wordPattern.test(w)) fail(`language-configuration.json: wordPattern matches \`${w}\`, not an id`);
}

// ---- the tokeniser ----
const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
const registry = new vsctm.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
    createOnigString: (s) => new oniguruma.OnigString(s),
  }),
  loadGrammar: async (scopeName) =>
    scopeName === 'source.charter' ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath) : null,
});
const grammar = await registry.loadGrammar('source.charter');

/** Tokens of a text, line by line: [{ text, tokens: [{ start, end, text, scopes }] }]. */
function tokenize(text, where) {
  const out = [];
  let stack = vsctm.INITIAL;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    let result;
    try {
      result = grammar.tokenizeLine(line, stack, 1000);
    } catch (err) {
      fail(`${where}:${n + 1}: the tokeniser threw: ${err?.stack ?? err}`);
      return out;
    }
    if (result.stoppedEarly) fail(`${where}:${n + 1}: tokenisation of the line did not terminate`);
    stack = result.ruleStack;
    out.push({
      text: line,
      tokens: result.tokens.map((t) => ({
        start: t.startIndex,
        end: Math.min(t.endIndex, line.length),
        text: line.slice(t.startIndex, t.endIndex),
        scopes: t.scopes,
      })),
    });
  }
  return out;
}

const has = (scopes, want) => scopes.some((s) => s === want || s.startsWith(want + '.'));
const show = (t) => `\`${t.text}\` [${t.scopes.slice(1).join(' ')}]`;

// ---- 4. the independent scanner: comments and strings as grammar/charter.pest has them ----
/**
 * Per line, a class for each character: 'c' in a comment (from `#` to the end of the line),
 * 's' in a string (quotes included), '.' elsewhere. A string starts at `"` outside a comment
 * and ends at the next `"` not escaped by `\` (`\` escapes any character but a newline), on
 * the same line. Throws on an unterminated string (a valid file has none).
 */
function scan(text, where) {
  return text.split(/\r?\n/).map((line, n) => {
    const cls = new Array(line.length).fill('.');
    let i = 0;
    while (i < line.length) {
      if (line[i] === '#') {
        for (let j = i; j < line.length; j++) cls[j] = 'c';
        break;
      }
      if (line[i] === '"') {
        let j = i + 1;
        while (j < line.length && line[j] !== '"') j += line[j] === '\\' && j + 1 < line.length ? 2 : 1;
        if (j >= line.length) throw new Error(`${where}:${n + 1}: unterminated string in a valid file`);
        for (let k = i; k <= j; k++) cls[k] = 's';
        i = j + 1;
        continue;
      }
      i++;
    }
    return cls;
  });
}

// ---- the files ----
function walk(dir, acc = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'target' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, acc);
    else if (e.name.endsWith('.charter')) acc.push(p);
  }
  return acc;
}
const files = walk(repo).sort();
const rel = (p) => path.relative(repo, p);
const expectedCodes = (text) => (text.match(/^# expect:(.*)$/m)?.[1] ?? '').trim().split(/\s+/).filter(Boolean);
/**
 * A file the parser accepts: the bundled policies, the pass cases, the diff pairs and fixtures
 * of the command-line tests, a ui case that expects no syntax code (E00xx). The fuzz
 * regressions and the syntax cases are left out: they are broken on purpose.
 */
function isValid(file, text) {
  const r = rel(file);
  if (['policies/', 'tests/ui/pass/', 'tests/diff/', 'tests/fixtures/'].some((d) => r.startsWith(d))) return true;
  if (r.startsWith('tests/ui/')) return !expectedCodes(text).some((c) => c.startsWith('E00'));
  return false;
}

let validCount = 0;
let lineCount = 0;
for (const file of files) {
  const where = rel(file);
  const text = fs.readFileSync(file, 'utf8');
  const lines = tokenize(text, where);
  lineCount += lines.length;
  if (!isValid(file, text)) continue;
  validCount++;
  // 3. nothing invalid
  for (const [n, l] of lines.entries()) {
    for (const t of l.tokens) {
      if (t.scopes.some((s) => s.startsWith('invalid'))) fail(`${where}:${n + 1}:${t.start + 1}: valid file, invalid token ${show(t)}`);
    }
  }
  // 4. comments and strings where the scanner finds them
  let classes;
  try {
    classes = scan(text, where);
  } catch (err) {
    fail(err.message);
    continue;
  }
  for (const [n, l] of lines.entries()) {
    for (const t of l.tokens) {
      for (let i = t.start; i < t.end; i++) {
        const want = classes[n][i];
        const got = has(t.scopes, 'comment.line.number-sign.charter') ? 'c' : has(t.scopes, 'string.quoted.double.charter') ? 's' : '.';
        if (got !== want) {
          const name = { c: 'a comment', s: 'a string', '.': 'neither comment nor string' };
          fail(`${where}:${n + 1}:${i + 1}: the scanner finds ${name[want]}, the grammar says ${name[got]}: ${show(t)}`);
          break;
        }
      }
    }
  }
}
if (validCount < 20) fail(`only ${validCount} valid files found: the walk of ${repo} is broken`);

// ---- 5. the table of expectations ----
// A sample with every statement kind; ids spelled like keywords where the grammar allows it.
const sample = `# A sample of every statement (the test's own, not a policy).
enterprise acme "ACME" {
  admins ["ana@acme.org", "b@acme.org"]
  permissions { source prod spaces [prod, lab] }
}
space prod "Prod \\"P\\" \\\\ 1" {
  enterprise acme; plan advanced, server india
  upstream global remote
  environment live
  security { two_factor = required }
  location_types {
    country
    state in country
    in in role
  }
  locations {
    country india "India" {
      state up "UP" { in lko "Lucknow" }
    }
  }
  features [integrations,
    data_registry]
  group field-team "Field Team"
  report visits "Visits"
  application anc "ANC"
  profile asha "ASHA"
  registry mothers "Mothers" { case_types [mother, pregnancy] }
  grant mothers to [lab]
  role role "Role" {
    data = view  # a trailing comment
    reports = [visits,
      report]
    full_organization_access = off, login_as = all
  }
  web_user "a@b.org" { role role  locations [lko] groups [field-team] }
  mobile_worker asha-01 { role locations locations [lko] login_as ["a@b.org"] }
  mobile_worker "Named Worker"
}
test "a test" {
  assert "a@b.org" can view data at lko in prod
  assert "a@b.org" cannot edit report visits at in in prod via api
  assert who can edit data in prod == ["a@b.org",
    "ana@acme.org"]
}
`;
const sampleLines = tokenize(sample, 'sample');

// [line (1-based, in the sample), token text, its occurrence on the line (1-based), scope]
const table = [
  [1, '#', 1, 'punctuation.definition.comment.charter'],
  [1, ' A sample of every statement (the test\'s own, not a policy).', 1, 'comment.line.number-sign.charter'],
  [2, 'enterprise', 1, 'storage.type.enterprise.charter'],
  [2, 'acme', 1, 'entity.name.namespace.enterprise.charter'],
  [2, '"', 1, 'punctuation.definition.string.begin.charter'],
  [2, '{', 1, 'punctuation.section.block.begin.charter'],
  [3, 'admins', 1, 'keyword.other.admins.charter'],
  [3, '[', 1, 'punctuation.section.brackets.begin.charter'],
  [3, ',', 1, 'punctuation.separator.comma.charter'],
  [4, 'permissions', 1, 'keyword.other.permissions.charter'],
  [4, 'source', 1, 'keyword.other.source.charter'],
  [4, 'prod', 1, 'variable.other.space.charter'],
  [4, 'spaces', 1, 'keyword.other.spaces.charter'],
  [4, 'lab', 1, 'variable.other.space.charter'],
  [6, 'space', 1, 'storage.type.space.charter'],
  [6, 'prod', 1, 'entity.name.namespace.charter'],
  [6, '\\"', 1, 'constant.character.escape.charter'],
  [6, '\\\\', 1, 'constant.character.escape.charter'],
  [7, 'enterprise', 1, 'keyword.other.enterprise.charter'],
  [7, 'acme', 1, 'variable.other.enterprise.charter'],
  [7, ';', 1, 'punctuation.separator.statement.charter'],
  [7, 'plan', 1, 'keyword.other.plan.charter'],
  [7, 'advanced', 1, 'constant.language.plan.charter'],
  [7, ',', 1, 'punctuation.separator.comma.charter'],
  [7, 'india', 1, 'constant.other.server.charter'],
  [8, 'upstream', 1, 'keyword.other.upstream.charter'],
  [8, 'global', 1, 'variable.other.space.charter'],
  [8, 'remote', 1, 'keyword.other.remote.charter'],
  [9, 'live', 1, 'constant.language.environment.charter'],
  [10, 'security', 1, 'keyword.other.security.charter'],
  [10, 'two_factor', 1, 'variable.other.property.charter'],
  [10, '=', 1, 'punctuation.separator.key-value.charter'],
  [10, 'required', 1, 'constant.language.charter'],
  [11, 'location_types', 1, 'keyword.other.location-types.charter'],
  [12, 'country', 1, 'entity.name.type.location-type.charter'],
  [13, 'in', 1, 'keyword.other.in.charter'],
  [13, 'country', 1, 'entity.name.type.location-type.charter'],
  [14, 'in', 1, 'entity.name.type.location-type.charter'],
  [14, 'in', 2, 'keyword.other.in.charter'],
  [14, 'role', 1, 'entity.name.type.location-type.charter'],
  [16, 'locations', 1, 'keyword.other.locations.charter'],
  [17, 'country', 1, 'entity.name.type.location-type.charter'],
  [17, 'india', 1, 'entity.name.location.charter'],
  [18, 'up', 1, 'entity.name.location.charter'],
  [18, 'in', 1, 'entity.name.type.location-type.charter'],
  [18, 'lko', 1, 'entity.name.location.charter'],
  [18, '}', 1, 'punctuation.section.block.end.charter'],
  [21, 'features', 1, 'keyword.other.features.charter'],
  [21, 'integrations', 1, 'constant.language.feature.charter'],
  [22, 'data_registry', 1, 'constant.language.feature.charter'],
  [22, ']', 1, 'punctuation.section.brackets.end.charter'],
  [23, 'group', 1, 'storage.type.group.charter'],
  [23, 'field-team', 1, 'entity.name.group.charter'],
  [24, 'report', 1, 'storage.type.report.charter'],
  [24, 'visits', 1, 'entity.name.report.charter'],
  [25, 'anc', 1, 'entity.name.application.charter'],
  [26, 'asha', 1, 'entity.name.profile.charter'],
  [27, 'registry', 1, 'storage.type.registry.charter'],
  [27, 'mothers', 1, 'entity.name.registry.charter'],
  [27, 'case_types', 1, 'keyword.other.case-types.charter'],
  [27, 'pregnancy', 1, 'entity.name.case-type.charter'],
  [28, 'grant', 1, 'keyword.other.grant.charter'],
  [28, 'mothers', 1, 'variable.other.registry.charter'],
  [28, 'to', 1, 'keyword.other.to.charter'],
  [28, 'lab', 1, 'variable.other.space.charter'],
  [29, 'role', 1, 'storage.type.role.charter'],
  [29, 'role', 2, 'entity.name.type.role.charter'],
  [30, 'data', 1, 'variable.other.property.charter'],
  [30, 'view', 1, 'constant.language.charter'],
  [30, ' a trailing comment', 1, 'comment.line.number-sign.charter'],
  [31, 'reports', 1, 'variable.other.property.charter'],
  [31, 'visits', 1, 'variable.other.charter'],
  [32, 'report', 1, 'variable.other.charter'],
  [33, 'full_organization_access', 1, 'variable.other.property.charter'],
  [33, 'off', 1, 'constant.language.charter'],
  [33, 'login_as', 1, 'variable.other.property.charter'],
  [33, 'all', 1, 'constant.language.charter'],
  [35, 'web_user', 1, 'storage.type.web-user.charter'],
  [35, 'a@b.org', 1, 'string.quoted.double.charter'],
  [35, 'role', 1, 'keyword.other.role.charter'],
  [35, 'role', 2, 'variable.other.role.charter'],
  [35, 'locations', 1, 'keyword.other.locations.charter'],
  [35, 'lko', 1, 'variable.other.location.charter'],
  [35, 'groups', 1, 'keyword.other.groups.charter'],
  [35, 'field-team', 1, 'variable.other.group.charter'],
  [36, 'mobile_worker', 1, 'storage.type.mobile-worker.charter'],
  [36, 'asha-01', 1, 'entity.name.member.charter'],
  [36, 'locations', 1, 'variable.other.role.charter'],
  [36, 'locations', 2, 'keyword.other.locations.charter'],
  [36, 'login_as', 1, 'keyword.other.login-as.charter'],
  [37, 'Named Worker', 1, 'string.quoted.double.charter'],
  [39, 'test', 1, 'storage.type.test.charter'],
  [39, 'a test', 1, 'string.quoted.double.charter'],
  [40, 'assert', 1, 'keyword.control.assert.charter'],
  [40, 'can', 1, 'keyword.operator.word.can.charter'],
  [40, 'view', 1, 'constant.language.level.charter'],
  [40, 'data', 1, 'variable.other.property.charter'],
  [40, 'at', 1, 'keyword.other.at.charter'],
  [40, 'lko', 1, 'variable.other.location.charter'],
  [40, 'in', 1, 'keyword.other.in.charter'],
  [40, 'prod', 1, 'variable.other.space.charter'],
  [41, 'cannot', 1, 'keyword.operator.word.can.charter'],
  [41, 'edit', 1, 'constant.language.level.charter'],
  [41, 'report', 1, 'keyword.other.report.charter'],
  [41, 'visits', 1, 'variable.other.report.charter'],
  [41, 'in', 1, 'variable.other.location.charter'],
  [41, 'in', 2, 'keyword.other.in.charter'],
  [41, 'via', 1, 'keyword.other.via.charter'],
  [41, 'api', 1, 'constant.language.channel.charter'],
  [42, 'who', 1, 'keyword.other.query.who.charter'],
  [42, 'can', 1, 'keyword.operator.word.can.charter'],
  [42, '==', 1, 'keyword.operator.comparison.charter'],
  [42, 'a@b.org', 1, 'string.quoted.double.charter'],
  [43, 'ana@acme.org', 1, 'string.quoted.double.charter'],
  [43, ']', 1, 'punctuation.section.brackets.end.charter'],
  [44, '}', 1, 'punctuation.section.block.end.charter'],
];

/** The token with exactly `text` at its `nth` occurrence on the line, or a failure message. */
function tokenAt(lines, where, lineNo, text, nth) {
  const l = lines[lineNo - 1];
  if (!l) return `${where}:${lineNo}: no such line`;
  // The nth occurrence not inside a longer id (`at` is not found in `data`).
  const idChar = /[A-Za-z0-9_-]/;
  let at = -1;
  for (let k = 0; k < nth; ) {
    at = l.text.indexOf(text, at + 1);
    if (at < 0) return `${where}:${lineNo}: \`${text}\` does not occur ${nth} time(s) in \`${l.text}\``;
    const before = l.text[at - 1] ?? ' ';
    const after = l.text[at + text.length] ?? ' ';
    const inside = (idChar.test(text[0]) && idChar.test(before)) || (idChar.test(text.at(-1)) && idChar.test(after));
    if (!inside) k++;
  }
  const t = l.tokens.find((t) => t.start <= at && at < t.end);
  if (t.start !== at || t.end !== at + text.length) return `${where}:${lineNo}: \`${text}\` is not one token; the token there is ${show(t)}`;
  return t;
}

function expectScope(lines, where, [lineNo, text, nth, scope]) {
  const t = tokenAt(lines, where, lineNo, text, nth);
  if (typeof t === 'string') return fail(t);
  if (!has(t.scopes, scope)) fail(`${where}:${lineNo}: \`${text}\` (occurrence ${nth}) should be ${scope}, is ${show(t)}`);
}

const sampleInvalid = sampleLines.flatMap((l, n) => l.tokens.filter((t) => t.scopes.some((s) => s.startsWith('invalid'))).map((t) => `sample:${n + 1}: ${show(t)}`));
for (const m of sampleInvalid) fail(`the valid sample has an invalid token: ${m}`);
for (const row of table) expectScope(sampleLines, 'sample', row);

// The same on the repository's own files: contextual keywords in tests/ui/pass/keywords_as_ids.
const fileTable = [
  ['tests/ui/pass/keywords_as_ids.charter', [
    [2, 'space', 2, 'entity.name.namespace.charter'],
    [3, 'in', 1, 'constant.other.server.charter'],
    [9, 'role', 1, 'entity.name.type.location-type.charter'],
    [9, 'plan', 1, 'entity.name.location.charter'],
    [14, 'groups', 1, 'entity.name.group.charter'],
    [15, 'report', 2, 'entity.name.report.charter'],
    [16, 'locations', 1, 'entity.name.type.role.charter'],
    [19, 'locations', 2, 'keyword.other.locations.charter'],
    [20, 'role', 1, 'entity.name.member.charter'],
    [24, 'in', 1, 'variable.other.location.charter'],
    [24, 'space', 1, 'variable.other.space.charter'],
    [26, 'report', 2, 'variable.other.report.charter'],
  ]],
  ['tests/ui/pass/separators.charter', [
    [2, 'admins', 1, 'keyword.other.admins.charter'],
    [4, 'y@e.org', 1, 'string.quoted.double.charter'],
    [6, 'server', 1, 'keyword.other.server.charter'],
    [9, 'b', 1, 'variable.other.charter'],
    [9, 'download_and_email_reports', 1, 'variable.other.property.charter'],
    [10, 'web_user', 2, 'storage.type.web-user.charter'],
  ]],
  ['policies/acme/prod.charter', [
    [3, ' community | standard | pro | advanced | enterprise', 1, 'comment.line.number-sign.charter'],
    [36, 'district-manager', 1, 'entity.name.type.role.charter'],
    [48, 'district-manager', 1, 'variable.other.role.charter'],
  ]],
];
for (const [file, rows] of fileTable) {
  const lines = tokenize(fs.readFileSync(path.join(repo, file), 'utf8'), file);
  for (const row of rows) expectScope(lines, file, row);
}

// ---- 6. invalid samples: marked invalid where they are wrong ----
const invalid = [
  ['space s "a\\tb" {}', '\\t', 'invalid.illegal.escape.charter'],
  ['space s { report r "unterminated }', '"unterminated }', 'invalid.illegal.unterminated-string.charter'],
  ['space s { role r { data = Edit } }', 'Edit', 'invalid.illegal'],
  ['space s { web_user "a" { role "admin" } }', 'role', 'invalid.illegal'],
  ['space s { locations [lko] }', 'locations', 'invalid.illegal.unknown-statement.charter'],
  ['space s { web_user "a" { locations [Lko] } }', 'Lko', 'invalid.illegal'],
  ['space s { plam pro }', 'plam', 'invalid.illegal.unknown-statement.charter'],
  ['space s { web_user "a" { role x  login_as ["b"] } }', 'login_as', 'invalid.illegal.unknown-statement.charter'],
  ['test "t" { assert why "a" can view data in s }', 'why', 'invalid.illegal.query-only.charter'],
  ['space s { }\n}', '}', 'invalid.illegal.stray-bracket.charter'],
];
for (const [text, token, scope] of invalid) {
  const lines = tokenize(text, 'invalid sample');
  const hit = lines.some((l) => l.tokens.some((t) => t.text === token && has(t.scopes, scope)));
  if (!hit) fail(`invalid sample \`${text}\`: no token \`${token}\` with ${scope}: ${lines.flatMap((l) => l.tokens.map(show)).join(' ')}`);
}
// After an unterminated string the next line is highlighted normally.
{
  const lines = tokenize('space s {\n  report r "oops\n  plan pro\n}', 'unterminated sample');
  const t = tokenAt(lines, 'unterminated sample', 3, 'plan', 1);
  if (typeof t === 'string' || !has(t.scopes, 'keyword.other.plan.charter')) fail(`an unterminated string spills onto the next line: ${typeof t === 'string' ? t : show(t)}`);
}

// ---- 7. folding ----
{
  const text = '# a\n# b\nspace s {\n  role r {\n    data = view\n  }\n  web_user "{" { role r }\n}\n';
  const got = JSON.stringify(foldingRanges(text));
  const want = JSON.stringify([
    { start: 0, end: 1, kind: 'comment' },
    { start: 2, end: 6, kind: 'region' },
    { start: 3, end: 4, kind: 'region' },
  ]);
  if (got !== want) fail(`folding: got ${got}, want ${want}`);
}

finish();

function finish() {
  if (failures.length) {
    const shown = failures.slice(0, 60);
    console.error(shown.map((f) => `FAIL ${f}`).join('\n'));
    if (failures.length > shown.length) console.error(`... and ${failures.length - shown.length} more`);
    console.error(`editor grammar: ${failures.length} failure(s)`);
    process.exit(1);
  }
  console.log(
    `editor grammar: ${files.length} .charter files (${lineCount} lines) tokenised, ${validCount} valid ones free of invalid tokens ` +
      `with comments and strings where the scanner finds them, ${table.length + fileTable.reduce((n, [, r]) => n + r.length, 0)} scope expectations, ` +
      `${invalid.length + 1} invalid samples, package.json consistent`,
  );
}
