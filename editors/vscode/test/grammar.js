// Tokenizes a rule file with the grammar (VS Code's own TextMate engine and
// Oniguruma) and checks the scopes of its tokens. `npm test`.
const fs = require("fs");
const path = require("path");
const assert = require("assert");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm"));
const onigLib = oniguruma.loadWASM(wasm.buffer).then(() => ({
  createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
  createOnigString: (s) => new oniguruma.OnigString(s),
}));
const registry = new vsctm.Registry({
  onigLib,
  loadGrammar: async () =>
    vsctm.parseRawGrammar(
      fs.readFileSync(path.join(__dirname, "..", "syntaxes", "nesy.tmLanguage.json"), "utf8"),
      "nesy.tmLanguage.json"
    ),
});

const source = [
  '@prefix ex: <http://example.org/>.',
  '@model credit = "models/credit.tree". // a CART tree',
  '0.3 :: ex:edge(a, B) :- not blocked(B), N = count { X : p(X) }, N >= 2.',
  'risk(A, credit.predict(A)) :- applicant(A, "x\\n").',
];

registry.loadGrammar("source.nesy").then((grammar) => {
  let state = vsctm.INITIAL;
  const tokens = [];
  for (const line of source) {
    const result = grammar.tokenizeLine(line, state);
    for (const t of result.tokens) {
      tokens.push([line.slice(t.startIndex, t.endIndex), t.scopes[t.scopes.length - 1]]);
    }
    state = result.ruleStack;
  }
  const scopeOf = (text) => {
    const found = tokens.find(([t]) => t === text);
    assert.ok(found, `no token ${JSON.stringify(text)} in ${JSON.stringify(tokens)}`);
    return found[1];
  };
  const expected = {
    "@prefix": "keyword.control.directive.nesy",
    "<http://example.org/>": "markup.underline.link.iri.nesy",
    "@model": "keyword.control.directive.nesy",
    "models/credit.tree": "string.quoted.double.nesy",
    "ex:": "entity.name.namespace.prefix.nesy",
    "// a CART tree": "comment.line.double-slash.nesy",
    "0.3": "constant.numeric.nesy",
    "::": "keyword.operator.rule.nesy",
    "ex:edge": "entity.name.function.relation.nesy",
    "B": "variable.other.nesy",
    ":-": "keyword.operator.rule.nesy",
    "not": "keyword.operator.negation.nesy",
    "blocked": "entity.name.function.relation.nesy",
    "count": "support.function.aggregate.nesy",
    ">=": "keyword.operator.nesy",
    "credit": "entity.name.type.model.nesy",
    "predict": "entity.name.function.method.nesy",
    "\\n": "constant.character.escape.nesy",
  };
  for (const [text, scope] of Object.entries(expected)) {
    assert.strictEqual(scopeOf(text), scope, `scope of ${text}`);
  }
  console.log(`grammar: ${Object.keys(expected).length} tokens scoped as expected`);
}).catch((e) => {
  console.error(e);
  process.exit(1);
});
