// The mesh operator console. Plain browser JavaScript, no dependencies.
//
// Security rules this file keeps: tokens live in memory only (never localStorage or cookies);
// everything from the server is rendered with textContent or attributes, never innerHTML;
// only this origin is contacted (the page's Content-Security-Policy enforces it too).
"use strict";

(() => {
  const TOKEN_PATH = "/oauth/token";
  const EXPIRY_MARGIN_MS = 5000;

  const $ = (id) => {
    const found = document.getElementById(id);
    if (found === null) throw new Error(`console page has no #${id}`);
    return found;
  };
  const meta = (name) => {
    const tag = document.querySelector(`meta[name="${name}"]`);
    return tag === null ? "" : tag.getAttribute("content") || "";
  };

  const config = {
    audience: meta("mesh-api-audience"),
    operatorScope: meta("mesh-operator-scope") || "mesh:operator",
    directoryScope: meta("mesh-directory-scope") || "mesh:directory",
  };

  // --- session -------------------------------------------------------------------------------

  /** @type {{tokens: {operator: string, directory: string}, who: string, expiresAt: number, timer: number} | null} */
  let session = null;

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  class SessionExpired extends Error {}

  async function errorText(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (body && typeof body === "object") {
      if (typeof body.error === "string") {
        return body.error_description ? `${body.error}: ${body.error_description}` : body.error;
      }
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail)) {
        // FastAPI's 422: one {loc, msg} per bad field
        return body.detail
          .map((problem) => `${(problem.loc || []).slice(1).join(".") || "request"}: ${problem.msg}`)
          .join("; ");
      }
      if (body.detail !== undefined) return JSON.stringify(body.detail);
    }
    return `${response.status} ${response.statusText}`.trim();
  }

  async function fetchToken(clientId, secret, scope) {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: secret,
      scope: scope,
      resource: config.audience,
    });
    let response;
    try {
      response = await fetch(TOKEN_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: form,
        cache: "no-store",
        credentials: "omit",
      });
    } catch (error) {
      throw new Error(`the gateway could not be reached: ${error.message}`);
    }
    if (!response.ok) throw new Error(await errorText(response));
    const issued = await response.json();
    if (typeof issued.access_token !== "string") throw new Error("the token endpoint answered without a token");
    return issued;
  }

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
    } catch (_) {
      return {};
    }
  }

  async function logIn(clientId, secret) {
    const [operator, directory] = await Promise.all([
      fetchToken(clientId, secret, config.operatorScope),
      fetchToken(clientId, secret, config.directoryScope),
    ]);
    const seen = claims(operator.access_token);
    const lifetime = Math.min(operator.expires_in || 60, directory.expires_in || 60) * 1000;
    const expiresAt = Date.now() + lifetime;
    const who = `${seen.sub || clientId} (client ${seen.client_id || clientId})`;
    startSession({ operator: operator.access_token, directory: directory.access_token }, who, expiresAt);
  }

  function startSession(tokens, who, expiresAt) {
    endSession();
    const timer = window.setTimeout(
      () => expire("Your session expired: log in again."),
      Math.max(0, expiresAt - Date.now() - EXPIRY_MARGIN_MS),
    );
    session = { tokens, who, expiresAt, timer };
    $("who").textContent = who;
    $("session-until").textContent = `until ${new Date(expiresAt).toLocaleTimeString()}`;
    $("session").hidden = false;
    $("login-view").hidden = true;
    $("app-view").hidden = false;
    route();
  }

  function endSession() {
    if (session !== null) window.clearTimeout(session.timer);
    session = null;
    $("session").hidden = true;
    $("app-view").hidden = true;
    $("login-view").hidden = false;
    $("who").textContent = "";
    $("pending-count").hidden = true;
  }

  function expire(reason) {
    endSession();
    showLoginError(reason);
  }

  function showLoginError(text) {
    const box = $("login-error");
    box.textContent = text;
    box.hidden = !text;
  }

  // --- API -----------------------------------------------------------------------------------

  async function api(path, { token = "operator", method = "GET", body = undefined } = {}) {
    if (session === null || Date.now() >= session.expiresAt - EXPIRY_MARGIN_MS) {
      expire("Your session expired: log in again.");
      throw new SessionExpired("session expired");
    }
    const headers = { Authorization: `Bearer ${session.tokens[token]}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (error) {
      throw new ApiError(0, `the gateway could not be reached: ${error.message}`);
    }
    if (response.status === 401) {
      const text = await errorText(response);
      expire(`The gateway no longer accepts this session (${text}): log in again.`);
      throw new SessionExpired(text);
    }
    if (!response.ok) throw new ApiError(response.status, await errorText(response));
    return response.json();
  }

  // --- rendering helpers (text only) ---------------------------------------------------------

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "className") node.className = value;
      else if (name === "hidden") node.hidden = Boolean(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const text = (value) => (value === undefined || value === null || value === "" ? "—" : String(value));

  function when(value) {
    if (!value) return "—";
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
  }

  function decisionLink(id, testid = "decision-link") {
    return el("a", { href: `#decision/${encodeURIComponent(id)}`, "data-decision-id": id, "data-testid": testid }, id);
  }

  function setState(view, state) {
    $(`${view}-view`).dataset.state = state;
  }

  function showProblem(error) {
    if (error instanceof SessionExpired) return;
    const line = $("status-line");
    line.textContent = error instanceof Error ? error.message : String(error);
    line.hidden = false;
  }

  function clearProblem() {
    const line = $("status-line");
    line.textContent = "";
    line.hidden = true;
  }

  /** A value of any shape as nested lists: objects as "key: value" items, arrays as numbered ones. */
  function valueTree(value, depth = 0) {
    if (value === null || value === undefined) return el("span", { className: "dim" }, "none");
    if (Array.isArray(value)) {
      if (value.length === 0) return el("span", { className: "dim" }, "none");
      return el("ol", { className: "values" }, value.map((item) => el("li", {}, valueTree(item, depth + 1))));
    }
    if (typeof value === "object") {
      const entries = Object.entries(value);
      if (entries.length === 0) return el("span", { className: "dim" }, "none");
      if (depth > 8) return el("code", {}, JSON.stringify(value));
      return el(
        "ul",
        { className: "values" },
        entries.map(([key, item]) => el("li", {}, el("span", { className: "key" }, `${key}: `), valueTree(item, depth + 1))),
      );
    }
    return el("span", { className: "value" }, String(value));
  }

  function branch(label, testid, children, { open = true, count = undefined } = {}) {
    const heading = count === undefined ? label : `${label} (${count})`;
    return el(
      "li",
      { "data-testid": testid },
      el("details", { open }, el("summary", {}, heading), el("ul", {}, children)),
    );
  }

  const leaf = (...children) => el("li", {}, ...children);

  // --- views ---------------------------------------------------------------------------------

  const VIEWS = ["agents", "decisions", "provenance", "escalations", "chat"];

  function show(view, tab) {
    for (const name of VIEWS) $(`${name}-view`).hidden = name !== view;
    for (const link of document.querySelectorAll("nav.tabs a")) {
      link.classList.toggle("active", link.dataset.tab === tab);
      if (link.dataset.tab === tab) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  function route() {
    if (session === null) return;
    clearProblem();
    let hash = window.location.hash.replace(/^#/, "");
    try {
      hash = decodeURIComponent(hash);
    } catch (_) {
      // a malformed escape: use the hash as it is
    }
    if (hash.startsWith("decision/")) {
      show("provenance", "decisions");
      loadProvenance(hash.slice("decision/".length)).catch(showProblem);
    } else if (hash === "decisions") {
      show("decisions", "decisions");
      loadDecisions().catch(showProblem);
    } else if (hash === "escalations") {
      show("escalations", "escalations");
      loadEscalations().catch(showProblem);
    } else if (hash === "chat") {
      show("chat", "chat");
      $("chat-question").focus();
    } else {
      show("agents", "agents");
      loadAgents().catch(showProblem);
    }
    refreshPendingCount();
  }

  // agents

  const agentKey = (name) => String(name).replace(/^agent:/, "");

  async function loadAgents() {
    setState("agents", "loading");
    const [directory, standings] = await Promise.allSettled([
      api("/api/agents", { token: "directory" }),
      api("/api/standings"),
    ]);
    const notes = [];
    const rows = new Map();
    const row = (name) => {
      const key = agentKey(name);
      if (!rows.has(key)) rows.set(key, { agent: key });
      return rows.get(key);
    };
    if (directory.status === "fulfilled") {
      for (const entry of directory.value.agents || []) Object.assign(row(entry.agent), { entry });
      if (directory.value.detail) notes.push(`Directory: ${directory.value.detail}`);
    } else {
      notes.push(`Directory unavailable: ${directory.reason.message}`);
    }
    if (standings.status === "fulfilled") {
      for (const standing of standings.value.agents || []) Object.assign(row(standing.agent), { standing });
      if (standings.value.note) notes.push(`Standings: ${standings.value.note}`);
    } else {
      notes.push(`Standings unavailable: ${standings.reason.message}`);
    }
    if ([directory, standings].some((r) => r.status === "rejected" && r.reason instanceof SessionExpired)) return;

    const body = $("agents-body");
    body.replaceChildren(
      ...[...rows.values()]
        .sort((a, b) => a.agent.localeCompare(b.agent))
        .map(({ agent, entry, standing }) => {
          const status = entry ? entry.status : "unknown";
          const autonomy = standing ? standing.autonomy : "unknown";
          const skills = entry ? (entry.summary.skills || []).map((skill) => skill.id).join(", ") : "";
          return el(
            "tr",
            { "data-testid": "agent-row", "data-agent": agent },
            el("td", {}, el("strong", {}, agent), entry ? el("div", { className: "dim" }, entry.summary.name) : null),
            el(
              "td",
              {},
              el("span", { className: `pill status-${status}`, "data-testid": "agent-status" }, status),
              entry && entry.down_reason ? el("div", { className: "dim" }, entry.down_reason) : null,
            ),
            el("td", {}, el("span", { className: `pill autonomy-${autonomy}`, "data-testid": "agent-autonomy" }, autonomy)),
            el(
              "td",
              { "data-testid": "agent-credibility" },
              standing && typeof standing.credibility === "number" ? standing.credibility.toFixed(3) : "—",
            ),
            el("td", {}, standing ? text(standing.strikes) : "—"),
            el("td", {}, text(skills)),
            el("td", {}, entry ? when(entry.last_seen) : "—"),
            el(
              "td",
              {},
              standing && standing.decision_id ? decisionLink(standing.decision_id) : "—",
              standing && standing.as_of ? el("div", { className: "dim" }, when(standing.as_of)) : null,
            ),
          );
        }),
    );
    $("agents-empty").hidden = rows.size > 0;
    $("agents-notes").replaceChildren(...notes.map((note) => el("li", {}, note)));
    for (const name of rows.keys()) rememberAgent(name);
    setState("agents", "ready");
  }

  // decisions

  const knownAgents = new Set();

  function rememberAgent(name) {
    if (!name) return;
    const key = agentKey(name);
    const select = $("decisions-agent");
    const value = String(name).startsWith("agent:") ? String(name) : `agent:${key}`;
    if (knownAgents.has(value)) return;
    knownAgents.add(value);
    select.append(el("option", { value }, key));
  }

  async function loadDecisions() {
    setState("decisions", "loading");
    const params = new URLSearchParams({ limit: "50" });
    const q = $("decisions-q").value.trim();
    const agent = $("decisions-agent").value;
    if (q) params.set("q", q);
    if (agent) params.set("agent", agent);
    const found = await api(`/api/decisions?${params}`);
    const decisions = found.decisions || [];
    $("decisions-body").replaceChildren(
      ...decisions.map((d) => {
        rememberAgent(d.agent);
        const tr = el(
          "tr",
          { "data-testid": "decision-row", "data-decision-id": d.decision_id, className: "clickable" },
          el("td", {}, decisionLink(d.decision_id)),
          el("td", {}, when(d.last_at)),
          el("td", {}, text(d.agent)),
          el("td", {}, text(d.domain)),
          el("td", {}, text(d.action)),
          el("td", {}, el("span", { className: `pill status-${d.status}` }, text(d.status))),
          el("td", {}, text(d.execution_mode)),
          el("td", { className: "number" }, text(d.records)),
          el("td", { className: "summary" }, text(d.summary)),
        );
        tr.addEventListener("click", (event) => {
          if (event.target instanceof HTMLAnchorElement) return;
          window.location.hash = `#decision/${encodeURIComponent(d.decision_id)}`;
        });
        return tr;
      }),
    );
    $("decisions-empty").hidden = decisions.length > 0;
    setState("decisions", "ready");
  }

  // provenance

  function spanTree(spans) {
    const ids = new Set(spans.map((span) => span.span_id));
    const children = new Map();
    const roots = [];
    for (const span of spans) {
      if (span.parent_span_id && ids.has(span.parent_span_id) && span.parent_span_id !== span.span_id) {
        if (!children.has(span.parent_span_id)) children.set(span.parent_span_id, []);
        children.get(span.parent_span_id).push(span);
      } else {
        roots.push(span);
      }
    }
    const seen = new Set();
    const node = (span) => {
      seen.add(span.span_id);
      const below = (children.get(span.span_id) || []).filter((child) => !seen.has(child.span_id));
      const duration = typeof span.duration_ms === "number" ? `${span.duration_ms.toFixed(1)} ms` : "";
      return el(
        "li",
        { "data-testid": "span", "data-span-id": span.span_id },
        el("span", { className: "key" }, text(span.name)),
        ` ${text(span.service)} ${duration} `,
        el("span", { className: `pill status-${span.status}` }, text(span.status)),
        below.length ? el("ul", {}, below.map(node)) : null,
      );
    };
    return roots.map(node);
  }

  function callerLine(caller) {
    const chain = caller.act_chain || [];
    return el(
      "li",
      { "data-testid": "prov-caller" },
      el("span", { className: "key" }, text(caller.subject)),
      caller.client_id ? ` client ${caller.client_id}` : "",
      (caller.scopes || []).length ? el("span", { className: "dim" }, ` ${caller.scopes.join(" ")}`) : "",
      chain.length ? ` act chain ${chain.join(" ← ")}` : "",
    );
  }

  function renderProvenance(found) {
    const provenance = found.provenance || {};
    const outcome = provenance.outcome || {};
    const data = provenance.data || [];
    const policies = provenance.policies || [];
    const negotiation = provenance.negotiation || [];
    const assets = provenance.assets || {};
    const callers = provenance.callers || [];
    const spans = found.spans || [];
    const records = found.records || [];
    return el(
      "ul",
      { className: "tree-root" },
      branch("Outcome", "prov-outcome", [
        leaf(el("span", { className: "key" }, "status: "), el("span", { className: `pill status-${outcome.status}` }, text(outcome.status))),
        leaf(el("span", { className: "key" }, "execution mode: "), text(outcome.execution_mode)),
        leaf(el("span", { className: "key" }, "final action: "), valueTree(outcome.final_action)),
        leaf(el("span", { className: "key" }, "executed at: "), when(outcome.executed_at)),
        leaf(el("span", { className: "key" }, "outcome: "), valueTree(outcome.outcome)),
      ]),
      branch(
        "Data",
        "prov-data",
        data.length
          ? data.map((item) =>
              el(
                "li",
                { "data-testid": "prov-data-item" },
                el("span", { className: "key" }, text(item.product_id)),
                ` ${text(item.version)}`,
                item.as_of ? ` as of ${when(item.as_of)}` : "",
                typeof item.freshness_seconds === "number" ? `, ${item.freshness_seconds.toFixed(0)} s old` : "",
              ),
            )
          : [leaf(el("span", { className: "dim" }, "no data product recorded"))],
        { count: data.length },
      ),
      branch(
        "Policies",
        "prov-policies",
        policies.length
          ? policies.map((policy) =>
              el(
                "li",
                { "data-testid": "prov-policy" },
                el("span", { className: "key" }, text(policy.policy_id)),
                " ",
                el("span", { className: `pill outcome-${policy.outcome}` }, text(policy.outcome)),
                policy.policy_version ? el("span", { className: "dim" }, ` ${policy.policy_version}`) : null,
                (policy.reasons || []).length ? el("ul", {}, policy.reasons.map((reason) => leaf(reason))) : null,
              ),
            )
          : [leaf(el("span", { className: "dim" }, "no policy evaluated"))],
        { count: policies.length },
      ),
      branch(
        "Negotiation",
        "prov-negotiation",
        negotiation.length
          ? negotiation.map((move) =>
              el(
                "li",
                { "data-testid": "prov-move" },
                `round ${text(move.round)}: `,
                el("span", { className: "key" }, text(move.agent)),
                ` ${text(move.move)}`,
                move.detail !== undefined && move.detail !== null ? el("div", {}, valueTree(move.detail)) : null,
              ),
            )
          : [leaf(el("span", { className: "dim" }, "no negotiation"))],
        { count: negotiation.length },
      ),
      branch(
        "Assets",
        "prov-assets",
        Object.keys(assets).length
          ? Object.entries(assets).map(([key, version]) => leaf(el("span", { className: "key" }, key), ` ${text(version)}`))
          : [leaf(el("span", { className: "dim" }, "no prompt or model asset recorded"))],
        { count: Object.keys(assets).length, open: false },
      ),
      branch(
        "Callers",
        "prov-callers",
        callers.length ? callers.map(callerLine) : [leaf(el("span", { className: "dim" }, "none"))],
        { count: callers.length, open: false },
      ),
      branch(
        "Spans",
        "prov-spans",
        spans.length ? spanTree(spans) : [leaf(el("span", { className: "dim" }, "no span kept for this decision"))],
        { count: spans.length, open: false },
      ),
      branch(
        "Ledger records",
        "prov-records",
        records.map((record) =>
          el(
            "li",
            { "data-testid": "prov-record" },
            el(
              "details",
              {},
              el(
                "summary",
                {},
                `#${text(record.seq)} ${text(record.action)} `,
                el("span", { className: `pill status-${record.status}` }, text(record.status)),
                el("span", { className: "dim" }, ` ${text(record.agent)} · hash ${String(record.hash || "").slice(0, 16)}`),
              ),
              valueTree(record),
            ),
          ),
        ),
        { count: records.length, open: false },
      ),
    );
  }

  async function loadProvenance(decisionId) {
    setState("provenance", "loading");
    $("provenance-id").textContent = decisionId;
    $("provenance-tree").replaceChildren(el("p", { className: "dim" }, "loading…"));
    try {
      const found = await api(`/api/decisions/${encodeURIComponent(decisionId)}`);
      $("provenance-tree").replaceChildren(renderProvenance(found));
      setState("provenance", "ready");
    } catch (error) {
      $("provenance-tree").replaceChildren();
      setState("provenance", "error");
      throw error;
    }
  }

  // escalations

  async function refreshPendingCount() {
    if (session === null) return;
    try {
      const pending = await api("/api/escalations?status=pending");
      const badge = $("pending-count");
      badge.textContent = String(pending.length);
      badge.hidden = pending.length === 0;
    } catch (_) {
      // the escalations view itself reports the problem
    }
  }

  function escalationMessage(content, isError) {
    const box = $("escalations-message");
    box.textContent = content;
    box.classList.toggle("error", isError);
    box.hidden = !content;
  }

  async function decide(escalation, verdict, buttons) {
    for (const button of buttons) button.disabled = true;
    try {
      const decided = await api(`/api/escalations/${encodeURIComponent(escalation.id)}/${verdict}`, { method: "POST" });
      escalationMessage(`${decided.id}: ${decided.status} by ${decided.decided_by}`, false);
    } catch (error) {
      if (error instanceof SessionExpired) return;
      escalationMessage(`${escalation.id}: ${error.message}`, true);
    }
    await loadEscalations().catch(showProblem);
    await refreshPendingCount();
  }

  async function loadEscalations() {
    setState("escalations", "loading");
    const pending = await api("/api/escalations?status=pending");
    $("escalations-body").replaceChildren(
      ...pending.map((escalation) => {
        const approve = el(
          "button",
          { type: "button", className: "approve", "data-testid": `approve-${escalation.id}` },
          "Approve",
        );
        const deny = el("button", { type: "button", className: "deny", "data-testid": `deny-${escalation.id}` }, "Deny");
        approve.addEventListener("click", () => decide(escalation, "approve", [approve, deny]));
        deny.addEventListener("click", () => decide(escalation, "deny", [approve, deny]));
        const call = escalation.kind === "tool_change"
          ? `tool definition change: ${escalation.domain}/${escalation.tool}`
          : `${escalation.domain} ${escalation.method}${escalation.tool ? ` ${escalation.tool}` : ""}`;
        return el(
          "tr",
          { "data-testid": "escalation-row", "data-escalation-id": escalation.id },
          el("td", {}, el("code", {}, escalation.id), el("div", { className: "dim" }, when(escalation.created_at))),
          el("td", {}, call),
          el("td", {}, text(escalation.subject), escalation.client_id ? el("div", { className: "dim" }, `client ${escalation.client_id}`) : null),
          el(
            "td",
            {},
            el("ul", { className: "reasons" }, (escalation.reasons || []).map((reason) => leaf(reason))),
            (escalation.policy_ids || []).length ? el("div", { className: "dim" }, escalation.policy_ids.join(", ")) : null,
          ),
          el("td", {}, escalation.decision_id ? decisionLink(escalation.decision_id) : "—"),
          el("td", {}, when(escalation.expires_at)),
          el("td", { className: "verdict" }, approve, deny),
        );
      }),
    );
    $("escalations-empty").hidden = pending.length > 0;
    setState("escalations", "ready");
  }

  // chat

  async function ask(question) {
    const log = $("chat-log");
    log.append(el("li", { className: "chat-question", "data-testid": "chat-question" }, question));
    const pending = el("li", { className: "chat-answer pending" }, "thinking…");
    log.append(pending);
    log.scrollTop = log.scrollHeight;
    $("chat-send").disabled = true;
    setState("chat", "loading");
    try {
      const reply = await api("/api/chat", { method: "POST", body: { question } });
      const citations = reply.citations || [];
      pending.replaceWith(
        el(
          "li",
          {
            className: `chat-answer${reply.answered === false ? " unanswered" : ""}`,
            "data-testid": "chat-answer",
            "data-mode": reply.mode,
          },
          el("p", { className: "answer-text", "data-testid": "chat-answer-text" }, text(reply.answer)),
          citations.length
            ? el(
                "p",
                { className: "citations" },
                "Cites: ",
                citations.flatMap((id, index) => [index ? ", " : "", decisionLink(id, "chat-citation")]),
              )
            : null,
          el(
            "p",
            { className: "dim" },
            el("span", { className: `pill mode-${reply.mode}`, "data-testid": "chat-mode" }, text(reply.mode)),
            reply.note ? ` ${reply.note}` : "",
            reply.decision_id ? [" · recorded as ", decisionLink(reply.decision_id, "chat-decision")] : "",
          ),
        ),
      );
      log.scrollTop = log.scrollHeight;
      setState("chat", "ready");
    } catch (error) {
      if (error instanceof SessionExpired) return;
      pending.replaceWith(el("li", { className: "chat-answer error", "data-testid": "chat-error" }, error.message));
      setState("chat", "error");
    } finally {
      $("chat-send").disabled = false;
    }
  }

  // --- wiring --------------------------------------------------------------------------------

  function start() {
    if (!config.audience) {
      showLoginError("This page was not served by a mesh gateway (no API audience): open /console on the gateway.");
    }
    $("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const clientId = $("client-id").value.trim();
      const secretField = $("client-secret");
      const secret = secretField.value;
      if (!clientId || !secret) {
        showLoginError("Enter the client id and its secret.");
        return;
      }
      showLoginError("");
      $("login-button").disabled = true;
      try {
        await logIn(clientId, secret);
        secretField.value = "";
      } catch (error) {
        showLoginError(`Login failed: ${error.message}`);
      } finally {
        $("login-button").disabled = false;
      }
    });
    $("logout").addEventListener("click", () => {
      endSession();
      showLoginError("");
    });
    $("agents-refresh").addEventListener("click", () => loadAgents().catch(showProblem));
    $("escalations-refresh").addEventListener("click", () => {
      escalationMessage("", false);
      loadEscalations().catch(showProblem);
    });
    $("decisions-filter").addEventListener("submit", (event) => {
      event.preventDefault();
      if (window.location.hash !== "#decisions") window.location.hash = "#decisions";
      else loadDecisions().catch(showProblem);
    });
    $("chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const field = $("chat-question");
      const question = field.value.trim();
      if (!question) return;
      field.value = "";
      ask(question);
    });
    window.addEventListener("hashchange", route);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
