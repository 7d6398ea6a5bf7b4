//! `charter lsp` driven over standard input and output with real JSON-RPC messages, as an
//! editor drives it: initialize, open, an edit that introduces an error and its quick fix,
//! hover, definition, references, completion, outline, formatting, a save that runs the
//! assertions, a panic inside a request, shutdown and exit.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_secs(60);

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    /// Notifications received while waiting for something else.
    pending: Vec<Value>,
    next_id: i64,
}

fn read_frame(out: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length:") {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    out.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start(envs: &[(&str, &str)]) -> Client {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_charter"));
        cmd.arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(stdout);
            while let Some(v) = read_frame(&mut out) {
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client {
            stdin: child.stdin.take(),
            child,
            messages: rx,
            pending: Vec::new(),
            next_id: 1,
        }
    }

    fn send(&mut self, v: &Value) {
        let body = serde_json::to_vec(v).unwrap();
        let stdin = self.stdin.as_mut().unwrap();
        write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        stdin.write_all(&body).unwrap();
        stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn next(&mut self, deadline: Instant) -> Value {
        match self
            .messages
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(v) => v,
            Err(RecvTimeoutError::Timeout) => panic!("no message from the server in time"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    /// The whole response (`result` or `error`) to a request.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let v = self.next(deadline);
            if v.get("id") == Some(&json!(id)) && v.get("method").is_none() {
                return v;
            }
            self.pending.push(v);
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.call(method, params);
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    /// The next diagnostics published for `uri` that satisfy `want`.
    fn diagnostics(&mut self, uri: &str, want: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = Vec::new();
        loop {
            let v = if self.pending.is_empty() {
                self.next(deadline)
            } else {
                self.pending.remove(0)
            };
            if v["method"] == "textDocument/publishDiagnostics" && v["params"]["uri"] == uri {
                let list = v["params"]["diagnostics"].as_array().unwrap().clone();
                if want(&list) {
                    return list;
                }
                seen.push(list);
            }
            assert!(
                Instant::now() < deadline,
                "no matching diagnostics for {uri}; seen {seen:?}"
            );
        }
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A copy of a bundled policy in a fresh directory (the server may be asked to format it).
fn policy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join(name);
    std::fs::create_dir(&root).unwrap();
    for e in std::fs::read_dir(Path::new("policies").join(name)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), root.join(e.file_name())).unwrap();
    }
    (dir, root)
}

/// The 0-based line and character of the `nth` occurrence of `needle` (ASCII text), plus
/// `shift` characters.
fn position(text: &str, needle: &str, shift: usize) -> Value {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found"))
        + shift;
    let line = text[..at].matches('\n').count();
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": column})
}

fn initialize(client: &mut Client, root: &Path) -> Value {
    let result = client.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": uri(root),
            "capabilities": {},
            "workspaceFolders": [{"uri": uri(root), "name": "policy"}],
        }),
    );
    client.notify("initialized", json!({}));
    result
}

fn open(client: &mut Client, path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(path), "languageId": "charter", "version": 1, "text": text}}),
    );
    text
}

fn at(path: &Path, position: Value) -> Value {
    json!({"textDocument": {"uri": uri(path)}, "position": position})
}

fn markdown(hover: &Value) -> String {
    hover["contents"]["value"].as_str().unwrap_or("").to_owned()
}

#[test]
fn an_editor_session_over_stdio() {
    let (_dir, root) = policy("national-health");
    let kenya = root.join("kenya.charter");
    let template = root.join("template.charter");
    let mut client = Client::start(&[("CHARTER_LSP_TEST_PANIC", "1")]);
    let caps = initialize(&mut client, &root);
    for cap in [
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "completionProvider",
        "codeActionProvider",
        "documentFormattingProvider",
        "documentSymbolProvider",
    ] {
        assert!(!caps["capabilities"][cap].is_null(), "{cap}: {caps}");
    }
    assert_eq!(caps["capabilities"]["positionEncoding"], "utf-16");

    // Open: the bundled policy is clean.
    let text = open(&mut client, &kenya);
    let kenya_uri = uri(&kenya);
    let clean = client.diagnostics(&kenya_uri, |_| true);
    assert!(clean.is_empty(), "{clean:?}");

    // An edit that misspells an upstream role: E0102 with its help, on the exact word.
    let p = position(&text, "role country-manager }", 5);
    let end = json!({"line": p["line"], "character": p["character"].as_u64().unwrap() + 15});
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": kenya_uri, "version": 2},
            "contentChanges": [{"range": {"start": p, "end": end}, "text": "country-manger"}],
        }),
    );
    let broken = client.diagnostics(&kenya_uri, |d| !d.is_empty());
    assert_eq!(broken.len(), 1, "{broken:?}");
    let d = &broken[0];
    assert_eq!(d["code"], "E0102");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["range"]["start"], p);
    let message = d["message"].as_str().unwrap();
    assert!(
        message.contains("unknown role `country-manger`"),
        "{message}"
    );
    assert!(
        message.contains("help: did you mean `country-manager`?"),
        "{message}"
    );
    assert!(
        d["relatedInformation"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
    );

    // Its quick fix, applied as the editor would, clears it.
    let actions = client.request(
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": kenya_uri},
            "range": d["range"],
            "context": {"diagnostics": [d]},
        }),
    );
    let fix = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Change to `country-manager`")
        .unwrap_or_else(|| panic!("no quick fix in {actions}"));
    assert_eq!(fix["kind"], "quickfix");
    let edit = fix["edit"]["changes"][&kenya_uri][0].clone();
    client.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": kenya_uri, "version": 3},
            "contentChanges": [{"range": edit["range"], "text": edit["newText"]}],
        }),
    );
    let fixed = client.diagnostics(&kenya_uri, |d| d.is_empty());
    assert!(fixed.is_empty());

    // Hover on a permission inside a role: its effective value and why.
    let h = client.request(
        "textDocument/hover",
        at(
            &kenya,
            position(&text, "full_organization_access   = off", 2),
        ),
    );
    let shown = markdown(&h);
    assert!(shown.contains("full_organization_access"), "{shown}");
    assert!(
        shown.contains("in role `regional-officer` of space `nhp-ke`: effective `off`"),
        "{shown}"
    );
    // A permission the role declares but full organization access hides: `hidden_by`.
    let hidden = client.request(
        "textDocument/hover",
        at(
            &kenya,
            position(&text, "change_location_workers    = on", 1),
        ),
    );
    let shown = markdown(&hidden);
    assert!(
        shown.contains("effective `on`") || shown.contains("hidden_by"),
        "{shown}"
    );

    // Hover on a member: role, scope, what.
    let h = client.request(
        "textDocument/hover",
        at(
            &kenya,
            position(&text, "\"amina.ke-nairobi@nhp-ke.org\"", 3),
        ),
    );
    let shown = markdown(&h);
    assert!(shown.contains("role `regional-officer`"), "{shown}");
    assert!(shown.contains("scope: at or below `ke-nairobi`"), "{shown}");
    assert!(shown.contains("`data = view`"), "{shown}");

    // Definition of a role received from the upstream: in the upstream's file.
    let def = client.request(
        "textDocument/definition",
        at(&kenya, position(&text, "role country-manager }", 8)),
    );
    let def = &def[0];
    assert_eq!(def["uri"], uri(&template));
    let template_text = std::fs::read_to_string(&template).unwrap();
    assert_eq!(
        def["range"]["start"],
        position(&template_text, "country-manager \"Country Manager\"", 0)
    );

    // References of a role: its declaration and every member holding it.
    let refs = client.request(
        "textDocument/references",
        json!({
            "textDocument": {"uri": kenya_uri},
            "position": position(&text, "role regional-officer \"", 6),
            "context": {"includeDeclaration": true},
        }),
    );
    let holders = text.matches("role regional-officer  locations").count();
    assert_eq!(refs.as_array().unwrap().len(), holders + 1, "{refs}");

    // Completion inside a role body offers permission keys; after `role` in a member, roles.
    let c = client.request(
        "textDocument/completion",
        at(
            &kenya,
            position(&text, "    mobile_workers             = view", 4),
        ),
    );
    let labels: Vec<&str> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"data") && labels.contains(&"web_users"),
        "{labels:?}"
    );
    let c = client.request(
        "textDocument/completion",
        at(&kenya, position(&text, "role country-manager }", 5)),
    );
    let labels: Vec<&str> = c
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"country-manager") && labels.contains(&"regional-officer"),
        "{labels:?}"
    );

    // The outline: the space, with its roles inside.
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": kenya_uri}}),
    );
    let space = &symbols[0];
    assert_eq!(space["name"], "nhp-ke");
    assert!(
        space["children"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "regional-officer")
    );

    // Formatting a canonical file changes nothing; a badly spaced line is put right.
    let f = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": kenya_uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(f, json!([]));

    // A save runs the assertions: information on each `assert` line.
    let tests = root.join("tests.charter");
    let tests_uri = uri(&tests);
    open(&mut client, &tests);
    client.diagnostics(&tests_uri, |_| true);
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": tests_uri}}),
    );
    let results = client.diagnostics(&tests_uri, |d| !d.is_empty());
    let asserts = std::fs::read_to_string(&tests)
        .unwrap()
        .matches("assert ")
        .count();
    assert_eq!(results.len(), asserts, "{results:?}");
    assert!(
        results
            .iter()
            .all(|d| d["severity"] == 3 && d["code"] == "pass"),
        "{results:?}"
    );

    // A panic inside a request is an error answer, and the server keeps serving.
    let crashed = client.call("charter/panic", json!({}));
    assert_eq!(crashed["error"]["code"], -32603, "{crashed}");
    let h = client.request(
        "textDocument/hover",
        at(&kenya, position(&text, "role regional-officer \"", 6)),
    );
    assert!(markdown(&h).contains("**role** `regional-officer`"), "{h}");

    // An unknown method is refused, not fatal.
    let unknown = client.call("textDocument/unknownThing", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);

    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    drop(client.stdin.take());
    let status = client.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_failing_assertion_and_an_unsaved_file_in_a_new_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let file = root.join("policy.charter");
    let mut client = Client::start(&[]);
    initialize(&mut client, &root);
    let text = "space s {\n  plan standard\n  role r {\n    data = view\n  }\n  web_user \"a@b.org\" { role r }\n}\ntest \"t\" {\n  assert \"a@b.org\" can edit data in s\n}\n";
    let u = uri(&file);
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "charter", "version": 1, "text": text}}),
    );
    assert!(client.diagnostics(&u, |_| true).is_empty());
    client.notify("textDocument/didSave", json!({"textDocument": {"uri": u}}));
    let results = client.diagnostics(&u, |d| !d.is_empty());
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["code"], "fail");
    assert_eq!(
        results[0]["range"]["start"],
        json!({"line": 8, "character": 2})
    );
    // The next edit clears the outcomes (their lines may have moved).
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"text": text.replace("view", "edit")}]}),
    );
    assert!(client.diagnostics(&u, |d| d.is_empty()).is_empty());
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

#[test]
fn a_body_that_is_not_json_rpc_is_skipped() {
    let mut client = Client::start(&[]);
    let stdin = client.stdin.as_mut().unwrap();
    stdin.write_all(b"Content-Length: 5\r\n\r\nhello").unwrap();
    stdin.write_all(b"Content-Length: 2\r\n\r\n{}").unwrap();
    let root = std::env::temp_dir();
    initialize(&mut client, &root);
    client.request("shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}

#[test]
fn a_broken_frame_ends_the_server_without_allocating_it() {
    // After a frame whose length cannot be trusted the stream cannot be resynchronised: the
    // server stops with an error status, promptly, rather than allocating what it claims.
    for header in [
        format!("Content-Length: {}\r\n\r\n", usize::MAX / 2),
        "Content-Length: 99999999999999999999999\r\n\r\n".to_owned(),
        "X-Nothing: 1\r\n\r\n".to_owned(),
        format!("Content-Length: 1{}\r\n", "0".repeat(5000)),
    ] {
        let mut client = Client::start(&[]);
        let stdin = client.stdin.as_mut().unwrap();
        stdin.write_all(header.as_bytes()).unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = client.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < TIMEOUT,
                "the server hangs on {header:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(1), "{header:?}");
    }
}
