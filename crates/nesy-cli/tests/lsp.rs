//! `nesy lsp` driven over standard input and output as an editor drives it:
//! JSON-RPC messages framed by `Content-Length`, one session from
//! `initialize` to `exit`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "an editor session that fails loudly"
)]

mod common;

use common::nesy;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

struct Editor {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
    /// Notifications that arrived while waiting for a response.
    notifications: Vec<Value>,
}

impl Editor {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nesy"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Editor {
            child,
            stdin,
            stdout,
            next_id: 0,
            notifications: Vec::new(),
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the server closed its output"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                length = n.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// Sends a request and returns its response (notifications before it
    /// are kept).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message.get("id") == Some(&json!(id)) {
                return message;
            }
            self.notifications.push(message);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// A session past the handshake with `text` open as `uri`; returns
    /// the diagnostics published for it.
    fn open(uri: &str, text: &str) -> (Self, Vec<Value>) {
        let mut editor = Editor::start();
        editor.request("initialize", json!({"capabilities": {}}));
        editor.notify("initialized", json!({}));
        editor.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "nesy", "version": 1, "text": text}}),
        );
        let diagnostics = editor.diagnostics(uri);
        (editor, diagnostics)
    }

    /// Shutdown, exit, and the server's exit status: success.
    fn finish(mut self) {
        let shutdown = self.request("shutdown", Value::Null);
        assert_eq!(shutdown["result"], Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status:?}");
    }

    /// The next diagnostics published for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let message = if self.notifications.is_empty() {
                self.receive()
            } else {
                self.notifications.remove(0)
            };
            if message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
            {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }
}

/// A rule file with a typo (`parnt`), badly spaced, as someone writes it.
const RULES: &str = "@prefix ex: <http://example.org/>.\n\
@decl person(name: symbol, age: int).\n\
person(alice, 30).\n\
person(bob,   41).\n\
parent(alice, bob).\n\
ancestor(X, Y) :- parent(X, Y).\n\
ancestor(X, Z) :- parnt(X, Y), ancestor(Y, Z).\n\
adult(X) :- person(X, A), A >= 18.\n\
?- ancestor(alice, W).\n";

fn position_of(text: &str, needle: &str, nth: usize) -> Value {
    let at = text.match_indices(needle).nth(nth).unwrap().0;
    let line = text[..at].matches('\n').count();
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": column + 1})
}

#[test]
fn an_editor_session_over_stdio() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("family.nesy");
    std::fs::write(&path, RULES).unwrap();
    let uri = format!("file://{}", path.display());
    let doc = json!({"uri": uri});
    let mut editor = Editor::start();

    let init = editor.request(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {}}),
    );
    let capabilities = &init["result"]["capabilities"];
    for provider in [
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "documentFormattingProvider",
        "documentSymbolProvider",
        "codeActionProvider",
    ] {
        assert_eq!(capabilities[provider], json!(true), "{provider}: {init}");
    }
    assert_eq!(init["result"]["serverInfo"]["name"], "nesy");
    editor.notify("initialized", json!({}));

    // Diagnostics as the file is opened: the checker's, with code and help.
    editor.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "nesy", "version": 1, "text": RULES}}),
    );
    let diagnostics = editor.diagnostics(&uri);
    let typo = diagnostics
        .iter()
        .find(|d| d["code"] == "undefined-relation")
        .unwrap_or_else(|| panic!("{diagnostics:?}"));
    assert!(
        typo["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `parent`"),
        "{typo}"
    );
    assert_eq!(typo["range"]["start"], json!({"line": 6, "character": 18}));
    assert_eq!(typo["severity"], 2);

    // Hover: a relation's rules; a declared relation's @decl; a prefix.
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": doc, "position": position_of(RULES, "ancestor(alice", 0)}),
    );
    let text = hover["result"]["contents"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("**relation** `ancestor`, 2 columns"),
        "{text}"
    );
    assert!(text.contains("defined by 2 rules"), "{text}");
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": doc, "position": position_of(RULES, "person(X", 0)}),
    );
    let text = hover["result"]["contents"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("@decl person(name: symbol, age: int)."),
        "{text}"
    );
    assert!(text.contains("2 facts"), "{text}");
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": doc, "position": {"line": 0, "character": 9}}),
    );
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("<http://example.org/>"),
        "{hover}"
    );
    // Nothing under the cursor: null.
    let nothing = editor.request(
        "textDocument/hover",
        json!({"textDocument": doc, "position": {"line": 5, "character": 15}}),
    );
    assert_eq!(nothing["result"], Value::Null, "{nothing}");

    // Go to definition: `parent` in a body goes to its fact.
    let definition = editor.request(
        "textDocument/definition",
        json!({"textDocument": doc, "position": position_of(RULES, "parent(X", 0)}),
    );
    let locations = definition["result"].as_array().unwrap();
    assert_eq!(locations.len(), 1, "{definition}");
    assert_eq!(
        locations[0]["range"]["start"],
        json!({"line": 4, "character": 0})
    );
    // References of `ancestor`: two heads, a body, the query.
    let references = editor.request("textDocument/references", json!({"textDocument": doc, "position": position_of(RULES, "ancestor(Y", 0), "context": {"includeDeclaration": true}}));
    assert_eq!(
        references["result"].as_array().unwrap().len(),
        4,
        "{references}"
    );

    // Symbols: facts once per relation, rules by head, the query.
    let symbols = editor.request("textDocument/documentSymbol", json!({"textDocument": doc}));
    let names: Vec<&str> = symbols["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ex:",
            "person",
            "person",
            "parent",
            "ancestor",
            "ancestor",
            "adult",
            "?- ancestor(alice, W)."
        ]
    );

    // Completion: directives after `@`, relations elsewhere.
    let completion = editor.request(
        "textDocument/completion",
        json!({"textDocument": doc, "position": {"line": 1, "character": 1}}),
    );
    let labels: Vec<&str> = completion["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"decl") && labels.contains(&"import"),
        "{labels:?}"
    );
    let completion = editor.request(
        "textDocument/completion",
        json!({"textDocument": doc, "position": {"line": 7, "character": 13}}),
    );
    let labels: Vec<&str> = completion["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"ancestor") && labels.contains(&"ex:") && labels.contains(&"rdf:"),
        "{labels:?}"
    );

    // The did-you-mean as a quick fix.
    let actions = editor.request(
        "textDocument/codeAction",
        json!({"textDocument": doc, "range": typo["range"], "context": {"diagnostics": [typo]}}),
    );
    let action = &actions["result"][0];
    assert_eq!(action["kind"], "quickfix", "{actions}");
    let edit = &action["edit"]["changes"][&uri][0];
    assert_eq!(edit["newText"], "parent");
    assert_eq!(edit["range"], typo["range"]);

    // Formatting: `nesy fmt`'s text.
    let formatting = editor.request(
        "textDocument/formatting",
        json!({"textDocument": doc, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    let formatted = formatting["result"][0]["newText"].as_str().unwrap();
    assert_eq!(formatted, nesy::lang::format_source(RULES).unwrap());
    assert!(formatted.contains("person(bob, 41)."), "{formatted}");

    // The fix applied: the warning goes.
    let fixed = RULES.replace("parnt(", "parent(");
    editor.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let diagnostics = editor.diagnostics(&uri);
    assert!(
        diagnostics
            .iter()
            .all(|d| d["code"] != "undefined-relation"),
        "{diagnostics:?}"
    );

    // Hostile requests: bad params and an unknown method are errors, and
    // the session goes on.
    let bad = editor.request("textDocument/hover", json!({"textDocument": 7}));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let unknown = editor.request("nesy/unknown", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let closed = editor.request("textDocument/hover", json!({"textDocument": {"uri": "file:///not/open.nesy"}, "position": {"line": 0, "character": 0}}));
    assert_eq!(closed["result"], Value::Null);

    editor.finish();
}

#[test]
fn hover_on_a_model_reads_its_kind_features_and_classes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = std::fs::canonicalize(root.join("rules/credit.nesy")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = format!("file://{}", path.display());
    let (mut editor, diagnostics) = Editor::open(&uri, &text);
    assert!(
        diagnostics.iter().all(|d| d["severity"] != 1),
        "{diagnostics:?}"
    );
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": position_of(&text, "credit.predict(A) =", 0)}),
    );
    let shown = hover["result"]["contents"]["value"].as_str().unwrap();
    assert!(shown.contains("**model** `credit`"), "{shown}");
    assert!(shown.contains("kind: tree cart"), "{shown}");
    assert!(
        shown.contains("features: income, debt, years_employed"),
        "{shown}"
    );
    assert!(shown.contains("classes: bad, good"), "{shown}");
    // Go to definition on the model's path opens the model file.
    let definition = editor.request(
        "textDocument/definition",
        json!({"textDocument": {"uri": uri}, "position": position_of(&text, "models/credit.tree\"", 0)}),
    );
    let target = definition["result"][0]["uri"].as_str().unwrap();
    assert!(target.ends_with("/models/credit.tree"), "{definition}");
    editor.finish();
}

#[test]
fn a_file_of_many_errors_gets_the_first_thousand_and_a_count() {
    // 20,000 unsafe facts: one error each.
    let text: String = (0..20_000).map(|i| format!("p{}(X).\n", i % 3)).collect();
    let uri = "file:///tmp/nesy-lsp-many/errors.nesy";
    let (mut editor, diagnostics) = Editor::open(uri, &text);
    assert_eq!(diagnostics.len(), 1001);
    assert_eq!(diagnostics[999]["range"]["start"]["line"], 999);
    let last = &diagnostics[1000];
    assert_eq!(last["severity"], 3, "{last}");
    assert!(
        last["message"]
            .as_str()
            .unwrap()
            .starts_with("19000 more diagnostics"),
        "{last}"
    );
    // Positions near the end of the file are answered too.
    let hover = editor.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 19_999, "character": 1}}),
    );
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("**relation** `p1`"),
        "{hover}"
    );
    editor.finish();
}

#[test]
fn the_server_reports_what_nesy_check_reports_sparql_included() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.nesy");
    let text = "@import q from sparql(\"SELECT ?x WHERE {\").\nr(X) :- q(X).\n";
    std::fs::write(&path, text).unwrap();
    let uri = format!("file://{}", path.display());
    let (editor, diagnostics) = Editor::open(&uri, text);
    let codes: Vec<String> = diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    let check = nesy()
        .args(["check", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&check.stdout).unwrap();
    let expected: Vec<String> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    assert!(expected.contains(&"sparql-syntax".to_string()), "{json}");
    assert_eq!(codes, expected);
    editor.finish();
}
