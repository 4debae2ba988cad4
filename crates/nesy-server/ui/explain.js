// Draws nesy's explanation JSON (docs/service.md, `nesy explain --format
// json`) as a collapsible tree: each step a <details>, its premises inside.
// Shared by the page of `nesy serve --ui` and `nesy explain --format html`.
// Every value is written as text (textContent), never as markup.
(function (global) {
  "use strict";

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function show(value) {
    if (typeof value === "number") {
      return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
    }
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  const KINDS = {
    fact: "fact",
    rule: "rule",
    model: "model call",
    comparison: "comparison",
    negation: "negation",
    aggregate: "aggregate",
    missing: "does not hold",
  };

  function bindingsTable(bindings) {
    const names = Object.keys(bindings || {});
    if (names.length === 0) return null;
    const table = el("table", "bindings");
    for (const name of names) {
      const row = el("tr");
      row.append(el("th", null, name), el("td", null, show(bindings[name])));
      table.append(row);
    }
    return table;
  }

  function isStep(value) {
    return value && typeof value === "object" && "fact" in value && "kind" in value;
  }

  function modelPart(model) {
    const box = el("div", "model");
    box.append(el("div", "model-call", `${model.call}(${(model.inputs || []).map(show).join(", ")}) = ${(model.outputs || []).map(show).join(", ")}`));
    if (model.model) box.append(el("div", "model-kind", model.model));
    const detail = model.explanation && model.explanation.detail;
    if (detail && Array.isArray(detail.steps)) {
      const path = el("ol", "decision-path");
      for (const step of detail.steps) {
        path.append(el("li", null, `${step.feature} = ${show(step.value)} ${step.op} ${show(step.threshold)}`));
      }
      box.append(el("div", "label", "decision path"), path);
    } else if (model.explanation && model.explanation.text) {
      box.append(el("div", "model-text", model.explanation.text));
    }
    return box;
  }

  // An aggregate: its function, result, and the rows it went over.
  function aggregatePart(aggregate) {
    const box = el("div", "aggregate");
    const size = aggregate.size !== undefined ? aggregate.size : (aggregate.rows || []).length;
    box.append(el("div", "aggregate-call", `${aggregate.function} over ${size} row${size === 1 ? "" : "s"} = ${show(aggregate.result)}`));
    const rows = aggregate.rows || [];
    if (rows.length) {
      const table = el("table", "aggregate-rows");
      for (const row of rows.slice(0, 50)) {
        const tr = el("tr");
        for (const value of Array.isArray(row) ? row : [row]) tr.append(el("td", null, show(value)));
        table.append(tr);
      }
      box.append(table);
      if (rows.length > 50) box.append(el("div", "truncated", `and ${rows.length - 50} more rows`));
    }
    return box;
  }

  function attemptsPart(attempts, depth) {
    const list = el("ul", "attempts");
    for (const attempt of attempts) {
      const item = el("li", "attempt");
      const rule = attempt.rule ? (attempt.rule.name ? `${attempt.rule.name} at ${attempt.rule.location}` : `the rule at ${attempt.rule.location}`) : "a rule";
      item.append(el("span", "rule", rule), el("span", null, ": "), el("span", "failed", attempt.failed || ""), el("span", "reason", attempt.reason ? ` (${attempt.reason})` : ""));
      const table = bindingsTable(attempt.bindings);
      if (table) item.append(table);
      for (const key of Object.keys(attempt)) {
        if (isStep(attempt[key])) item.append(step(attempt[key], depth + 1));
      }
      list.append(item);
    }
    return list;
  }

  // One step of a proof (or of a why-not) and, inside, its premises.
  function step(e, depth) {
    const details = el("details", `step kind-${e.kind} ${e.holds ? "holds" : "fails"}`);
    details.open = depth < 2;
    const summary = el("summary");
    summary.append(el("span", "mark", e.holds ? "✓" : "✗"), el("span", "fact", e.fact), el("span", "kind", KINDS[e.kind] || e.kind));
    if (typeof e.tag === "number") summary.append(el("span", "probability", `p = ${show(e.tag)}`));
    if (e.rule) summary.append(el("span", "rule", e.rule.name ? `@name(${e.rule.name}) ${e.rule.location}` : e.rule.location));
    if (e.source) summary.append(el("span", "source", `from ${e.source}`));
    details.append(summary);
    const body = el("div", "body");
    const table = bindingsTable(e.bindings);
    if (table) body.append(table);
    if (e.model) body.append(modelPart(e.model));
    if (e.aggregate) body.append(aggregatePart(e.aggregate));
    if (Array.isArray(e.attempts) && e.attempts.length) {
      body.append(el("div", "label", "rules that could derive it, and where each fails"), attemptsPart(e.attempts, depth));
    }
    if (e.truncated) body.append(el("div", "truncated", "deeper steps left out (--max-depth)"));
    for (const premise of e.premises || []) body.append(step(premise, depth + 1));
    details.append(body);
    return details;
  }

  // Draws one explanation or a list of them into `container`.
  function render(container, explanations) {
    const list = Array.isArray(explanations) ? explanations : [explanations];
    container.replaceChildren();
    if (list.length === 0) {
      container.append(el("p", "empty", "no answers"));
    }
    for (const e of list) {
      const tree = el("div", "tree");
      tree.append(step(e, 0));
      container.append(tree);
    }
  }

  global.NesyExplain = { render };
})(typeof window !== "undefined" ? window : this);
