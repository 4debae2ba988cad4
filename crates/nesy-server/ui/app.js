// The decision page of `nesy serve --ui`: it uses the service's own API
// (GET /v1/rules, POST /v1/decide/{name}) and nothing else.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const api = (path) => new URL(`../${path}`, window.location.href).toString();
  let info = null;
  let prefilled = false;

  function headers() {
    const h = { "content-type": "application/json" };
    const token = $("token").value.trim();
    if (token) h.authorization = `Bearer ${token}`;
    return h;
  }

  function fail(message) {
    $("error").textContent = message;
  }

  // A row of example values for a declared relation, by field type.
  function sampleRow(fields, types) {
    const row = {};
    fields.forEach((field, i) => {
      const type = (types || [])[i];
      row[field] = type === "int" ? 0 : type === "float" || type === "number" ? 0.0 : type === "bool" ? false
        : type === "iri" ? "http://example.org/x1" : type === "symbol" ? "x1" : "";
    });
    return row;
  }

  function prefill() {
    const input = {};
    for (const [relation, fields] of Object.entries(info.declared || {})) {
      if ((info.derived || []).includes(relation)) continue;
      input[relation] = [sampleRow(fields, (info.declared_types || {})[relation])];
    }
    $("input").value = JSON.stringify(input, null, 2);
  }

  async function load() {
    fail("");
    const response = await fetch(api("v1/rules"), { headers: headers() });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      fail(response.status === 401 ? "this server needs its token: enter it above, then Run" : `GET /v1/rules: ${response.status} ${body.error || ""}`);
      return false;
    }
    info = body.engine;
    $("sources").textContent = (info.sources || []).join(", ");
    const select = $("decision");
    select.replaceChildren();
    for (const name of info.derived || []) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = `${name} (${info.relations[name]} columns)`;
      select.append(option);
    }
    const preferred = ["decision", "approve"].find((n) => (info.derived || []).includes(n));
    if (preferred) select.value = preferred;
    // Once: a later load (a new token) keeps what was typed.
    if (!prefilled && !$("input").value.trim()) prefill();
    prefilled = true;
    return true;
  }

  function requestBody() {
    let input;
    try {
      input = JSON.parse($("input").value || "{}");
    } catch (e) {
      throw new Error(`the input is not JSON: ${e.message}`);
    }
    return { input, explain: true, only: $("only-input").checked ? "input" : "all" };
  }

  // The request body, or null with the reason shown on the page.
  function bodyOrFail() {
    try {
      return requestBody();
    } catch (e) {
      fail(e.message);
      return null;
    }
  }

  function showResults(answer) {
    const table = $("results");
    table.replaceChildren();
    const head = document.createElement("tr");
    for (const title of ["tuple", "probability"]) {
      const th = document.createElement("th");
      th.textContent = title;
      head.append(th);
    }
    table.append(head);
    for (const result of answer.results || []) {
      const row = document.createElement("tr");
      const args = document.createElement("td");
      args.textContent = `${answer.decision}(${result.args.map((a) => JSON.stringify(a)).join(", ")})`;
      const probability = document.createElement("td");
      probability.textContent = String(result.probability);
      row.append(args, probability);
      table.append(row);
    }
    $("summary").textContent = `${answer.holds ? "holds" : "does not hold"} · ${(answer.results || []).length} result(s) · ${answer.metrics ? answer.metrics.eval_us : "?"} µs · ${answer.decision_id || ""}`;
    const explanations = (answer.results || []).map((r) => r.explanation).filter(Boolean);
    if (!answer.holds && answer.why_not) explanations.push(answer.why_not);
    NesyExplain.render($("explanations"), explanations);
  }

  async function run() {
    fail("");
    if (!info && !(await load())) return;
    const body = bodyOrFail();
    if (!body) return;
    const name = $("decision").value;
    const response = await fetch(api(`v1/decide/${encodeURIComponent(name)}`), { method: "POST", headers: headers(), body: JSON.stringify(body) });
    const answer = await response.json().catch(() => ({ error: "the answer is not JSON" }));
    if (!response.ok) {
      fail(`${response.status}: ${answer.error || ""}`);
      return;
    }
    showResults(answer);
  }

  function curl() {
    const body = bodyOrFail();
    if (!body) return;
    const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
    const url = api(`v1/decide/${encodeURIComponent($("decision").value)}`);
    let text = `curl -s -X POST ${quote(url)} -H 'content-type: application/json'`;
    if ($("token").value.trim()) text += ` -H "authorization: Bearer $NESY_TOKEN"`;
    text += ` -d ${quote(JSON.stringify(body))}`;
    const pre = $("curl-text");
    pre.textContent = text;
    pre.hidden = false;
    if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
  }

  $("run").addEventListener("click", () => run().catch((e) => fail(String(e))));
  $("curl").addEventListener("click", curl);
  $("token").addEventListener("change", () => { info = null; load().catch((e) => fail(String(e))); });
  load().catch((e) => fail(String(e)));
})();
