/* Pages: dashboard, payments (with a payment's timeline), customers, online now. */
(function () {
  "use strict";
  var C = window.Console, h = C.h;

  var MONEY_EVENTS = /^(payment|subscription|voucher|session|router|sync)\./;

  // -- dashboard

  C.pages.dashboard = function () {
    var main = C.clear(C.main());
    var cards = h("div", {cls: "cards", id: "cards"});
    var revenue = h("div", {cls: "chart-box", id: "chart-revenue"});
    var sessions = h("div", {cls: "chart-box", id: "chart-sessions"});
    var sync = h("div", {cls: "panel", id: "sync-status"}, h("p", {cls: "muted", text: "Sync status: loading…"}));
    main.appendChild(C.title("Dashboard"));
    main.appendChild(cards);
    main.appendChild(h("section", {cls: "charts"},
      h("div", {}, h("h2", {text: "Revenue per day (30 days)"}), revenue),
      h("div", {}, h("h2", {text: "Sessions online (24 hours)"}), sessions)));
    main.appendChild(h("h2", {text: "Central sync"}));
    main.appendChild(sync);

    function draw(d) {
      var p = d.payments_today, q = d.queue;
      C.clear(cards);
      [C.card("Revenue today", C.kes(d.revenue.today.amount), "revenue-today", d.revenue.today.payments + " payments"),
       C.card("This week", C.kes(d.revenue.week.amount), "revenue-week", d.revenue.week.payments + " payments"),
       C.card("This month", C.kes(d.revenue.month.amount), "revenue-month", d.revenue.month.payments + " payments"),
       C.card("Payments today", String(p.paid), "payments-today-paid",
              p.failed + " failed · " + p.cancelled + " cancelled · " + p.expired + " expired · " +
              (p.pending + p.received) + " waiting"),
       C.card("Online now", String(d.sessions_open), "sessions-open", "open sessions"),
       C.card("Paying customers", String(d.paying_customers), "paying-customers", "with time left now"),
       C.card("Routers online", d.routers.online + " / " + d.routers.total, "routers-online"),
       C.card("Vouchers today", String(d.vouchers_today.redeemed), "vouchers-today", C.kes(d.vouchers_today.value) + " (cash)"),
       C.card("Task queue", q.queued + " waiting", "queue-depth",
              q.mode + " · " + q.scheduled + " retrying · " + q.failed + " failed")
      ].forEach(function (c) { cards.appendChild(c); });
      if (q.failed) cards.lastChild.classList.add("warn");
    }
    function load() {
      return C.get("/api/admin/dashboard").then(function (d) {
        draw(d);
        // Figures are shared by every open page for a second: ask again if they predate an event seen.
        if (d.last_event_id < C.lastEventId) reload();
      }).then(function () {
        return Promise.all([C.svg(revenue, "/api/admin/charts/revenue.svg"), C.svg(sessions, "/api/admin/charts/sessions.svg")]);
      }).catch(C.failed);
    }
    function loadSync() {
      C.api("GET", "/api/admin/sync").then(function (s) {
        if (!s.enabled) {
          C.clear(sync).appendChild(h("p", {cls: "muted", text: "Not set up: this site does not sync to a central server ([central] url)."}));
          return;
        }
        var shown = [["Last success", s.last_success ? C.time(s.last_success, true) : "never"],
                     ["Events waiting", String(s.waiting)],
                     ["Oldest waiting", s.oldest_waiting ? C.time(s.oldest_waiting, true) : "—"],
                     ["Last error", s.last_error ? s.last_error + (s.last_error_at ? " (" + C.time(s.last_error_at, true) + ")" : "") : "—"],
                     ["Failures in a row", String(s.failures)],
                     ["Configuration version", String(s.config_version)]];
        C.clear(sync).appendChild(h("div", {}, shown.map(function (row) {
          return h("div", {cls: "kv"}, h("span", {text: row[0]}), h("strong", {text: row[1]}));
        })));
      }).catch(function (err) {
        C.clear(sync).appendChild(h("p", {cls: "muted", id: "sync-unavailable", text: err.status === 404 ?
          "Sync status is not available: this version of hotspotd has no central sync (no /api/admin/sync)." :
          "Sync status could not be read: " + err.message}));
      });
    }
    load(); loadSync();
    var reload = C.debounce(load, 500), reloadSync = C.debounce(loadSync, 500);
    return {onEvent: function (e) { if (MONEY_EVENTS.test(e.type)) reload(); if (/^sync\./.test(e.type)) reloadSync(); }};
  };

  // -- payments

  var STATUSES = ["", "paid", "received", "pending", "failed", "cancelled", "expired", "refunded"];

  C.pages.payments = function () {
    var main = C.clear(C.main());
    var params = new URLSearchParams(location.search);
    var state = {q: params.get("q") || "", status: params.get("status") || "", package: params.get("package") || "",
                 since: params.get("since") || "", until: params.get("until") || ""};
    var q = h("input", {type: "search", name: "q", id: "payment-q", value: state.q,
                        placeholder: "receipt, phone or reference"});
    var status = h("select", {name: "status", id: "payment-status"}, STATUSES.map(function (s) {
      return h("option", {value: s, selected: s === state.status}, s || "any status");
    }));
    var pkg = h("select", {name: "package", id: "payment-package"}, h("option", {value: ""}, "any package"));
    var since = h("input", {type: "date", name: "since", value: state.since});
    var until = h("input", {type: "date", name: "until", value: state.until});
    var list = h("div", {id: "payments-list"});
    var orphans = h("div", {id: "orphans"});
    main.appendChild(C.title("Payments"));
    main.appendChild(h("form", {cls: "filters", on: {submit: function (ev) { ev.preventDefault(); found.page = 1; found.load(); }}},
      q, status, pkg, C.field("From", since), C.field("Until", until), h("button", {type: "submit"}, "Search")));
    main.appendChild(list);
    main.appendChild(h("h2", {text: "Unmatched M-Pesa money"}));
    main.appendChild(h("p", {cls: "muted", text: "Callbacks that matched no payment. Open the customer's payment to apply one to it."}));
    main.appendChild(orphans);
    C.get("/api/admin/packages").then(function (list) {
      list.forEach(function (p) { pkg.appendChild(h("option", {value: p.id, selected: String(p.id) === state.package}, p.name)); });
    });

    var found = C.pagedTable(list, "/api/admin/payments", [
      ["Time", function (p) { return C.link("/payments/" + p.id, C.time(p.created_at)); }],
      ["Phone", function (p) { return p.phone; }],
      ["Package", function (p) { return p.package; }],
      ["Amount", function (p) { return C.kes(p.amount_paid === null ? p.amount : p.amount_paid); }],
      ["Status", function (p) { return C.status(p.status); }],
      ["Receipt", function (p) { return p.receipt || ""; }]
    ], "No payments match.", function () {
      state.q = q.value; state.status = status.value; state.package = pkg.value;
      state.since = since.value; state.until = until.value;
      return {q: state.q, status: state.status, package: state.package, since: state.since, until: state.until};
    });
    function loadOrphans() {
      C.get("/api/admin/callbacks?per_page=20").then(function (data) { C.clear(orphans).appendChild(orphanTable(data.items)); });
    }
    found.load(); loadOrphans();
    var reload = C.debounce(found.load, 200);
    return {onEvent: function (e) { if (/^payment\./.test(e.type)) { reload(); loadOrphans(); } }};
  };

  function orphanTable(items, assignTo) {
    return C.table([
      ["Received", function (c) { return C.time(c.received_at); }],
      ["Amount", function (c) { return C.kes(c.amount); }],
      ["Phone", function (c) { return c.phone || ""; }],
      ["Receipt", function (c) { return c.receipt || c.error || ""; }],
      ["", function (c) {
        if (!assignTo || c.result_code !== 0) return c.result_code === 0 ? "" : (c.result_desc || "");
        return C.button("Apply to this payment", function () {
          if (!confirm("Apply " + C.kes(c.amount) + " (" + c.receipt + ") to this payment?")) return;
          return C.post("/api/admin/callbacks/" + c.id + "/assign", {payment_id: assignTo.id}).then(function () {
            C.toast("Applied: the payment is being processed"); assignTo.reload();
          });
        });
      }]
    ], items, "No unmatched money.");
  }

  C.pages.payment = function (id) {
    var main = C.clear(C.main());
    var box = h("div", {id: "payment"});
    main.appendChild(C.title("Payment " + id, C.link("/payments", "‹ all payments")));
    main.appendChild(box);
    var self = {id: Number(id), reload: load};

    function load() {
      return C.get("/api/admin/payments/" + id).then(function (d) {
        var p = d.payment;
        C.clear(box);
        box.appendChild(h("div", {cls: "cards"},
          C.card("Status", p.status, "payment-status-value"),
          C.card("Amount", C.kes(p.amount_paid === null ? p.amount : p.amount_paid), null, p.package),
          C.card("Phone", p.phone),
          C.card("Receipt", p.receipt || "—")));
        box.appendChild(h("p", {cls: "diagnosis", id: "diagnosis", text: d.diagnosis}));
        box.appendChild(h("h2", {text: "Timeline"}));
        box.appendChild(h("ol", {cls: "timeline", id: "timeline"}, d.steps.map(function (s) {
          return h("li", {cls: "step step-" + s.step, "data-step": s.step},
            h("time", {datetime: s.at, text: C.time(s.at, true)}), " ", h("strong", {text: s.title}), " ",
            h("span", {cls: "muted", text: describe(s)}));
        })));
        var actions = h("div", {cls: "actions"});
        if (p.status === "paid") {
          actions.appendChild(C.button("Resend to the router", function () {
            return C.post("/api/admin/payments/" + id + "/resend").then(function (c) {
              C.toast("Sent again. Login: " + c.username + " / " + c.password);
              creds.textContent = "Username " + c.username + " · password " + c.password + " · until " + C.time(c.expires_at);
            });
          }));
          var minutes = h("select", {"aria-label": "extend by"}, [30, 60, 180, 1440].map(function (m) {
            return h("option", {value: m * 60}, m < 60 ? m + " minutes" : m / 60 + " hours");
          }));
          var reason = h("input", {placeholder: "reason (kept in the audit log)", maxlength: 200});
          actions.appendChild(h("span", {cls: "inline"}, minutes, reason, C.button("Extend", function () {
            return C.post("/api/admin/payments/" + id + "/extend", {seconds: Number(minutes.value), reason: reason.value})
              .then(function (r) { C.toast("Extended until " + C.time(r.ends_at)); load(); });
          })));
        }
        if (p.customer_id) actions.appendChild(C.link("/customers/" + p.customer_id, "Customer ›"));
        var creds = h("p", {cls: "creds"});
        box.appendChild(actions);
        box.appendChild(creds);
        if (C.refundSection) box.appendChild(C.refundSection(d, load));  // admin-money.js
        if (p.status !== "paid" && p.status !== "received" && p.status !== "refunded") {
          box.appendChild(h("h2", {text: "Unmatched M-Pesa money"}));
          var holder = h("div", {});
          box.appendChild(holder);
          C.get("/api/admin/callbacks?per_page=20").then(function (data) { holder.appendChild(orphanTable(data.items, self)); });
        }
      }).catch(C.failed);
    }
    load();
    var reload = C.debounce(load, 200);
    return {onEvent: function (e) { if (e.data && (e.data.payment_id === self.id || /^(user|session|sms)\./.test(e.type))) reload(); }};
  };

  function describe(step) {
    var d = step.detail, bits = [];
    if (d.phone) bits.push(d.phone);
    if (d.amount !== undefined && d.amount !== null) bits.push(C.kes(d.amount));
    if (d.receipt) bits.push(d.receipt);
    if (d.reason) bits.push(d.reason);
    if (d.result_desc) bits.push(d.result_desc);
    if (d.outcome && d.outcome !== "recorded") bits.push(d.outcome);
    if (d.times) bits.push(d.times + " time(s)");
    if (d.ends_at) bits.push("until " + C.time(d.ends_at));
    if (d.username) bits.push("user " + d.username);
    if (d.via) bits.push("via " + d.via);
    if (d.mac) bits.push(d.mac);
    if (d.ip) bits.push(d.ip);
    if (d.by) bits.push("by " + d.by + (d.action ? ": " + d.action : ""));
    return bits.join(" · ");
  }

  // -- customers

  C.pages.customers = function () {
    var main = C.clear(C.main());
    var q = h("input", {type: "search", id: "customer-q", placeholder: "phone, username or MAC",
                        value: new URLSearchParams(location.search).get("q") || ""});
    var list = h("div", {id: "customers-list"});
    var found = C.pagedTable(list, "/api/admin/customers", [
      ["Customer", function (c) { return C.link("/customers/" + c.id, c.username || ("#" + c.id)); }],
      ["Phone", function (c) { return c.phone || "voucher"; }],
      ["On", function (c) { return c.package ? c.package + " until " + C.time(c.ends_at) : "—"; }],
      ["Online", function (c) { return c.suspended ? C.status("suspended") : c.online ? c.online + " device(s)" : ""; }]
    ], "No customers match.", function () { return {q: q.value}; });
    main.appendChild(C.title("Customers"));
    main.appendChild(h("form", {cls: "filters", on: {submit: function (ev) { ev.preventDefault(); found.page = 1; found.load(); }}},
      q, h("button", {type: "submit"}, "Search")));
    main.appendChild(list);
    found.load();
    return {};
  };

  C.kick = function (sessionId) {
    return C.post("/api/admin/sessions/" + sessionId + "/kick").then(function () {
      C.toast("Disconnecting the session");
    }).catch(function (err) {
      if (err.status === 404 || err.status === 405) C.toast("Kicking is not available in this version of hotspotd", true);
      else throw err;
    });
  };

  C.sessionColumns = function (withCustomer) {
    return [
      ["Started", function (s) { return C.time(s.started_at); }],
      withCustomer ? ["User", function (s) { return s.customer_id ? C.link("/customers/" + s.customer_id, s.username) : s.username; }] : null,
      ["Device", function (s) { return (s.mac || "") + (s.ip ? " · " + s.ip : ""); }],
      ["Router", function (s) { return s.router || s.router_id; }],
      ["Used", function (s) { return C.bytes(s.input_bytes + s.output_bytes); }],
      ["", function (s) {
        if (s.status !== "open") return s.terminate_cause || s.status;
        if (s.disconnect_requested) return "disconnecting…";
        return C.button("Kick", function () { return C.kick(s.id); }, "danger");
      }]
    ].filter(Boolean);
  };

  C.pages.online = function () {
    var main = C.clear(C.main()), list = h("div", {id: "online-list"});
    main.appendChild(C.title("Online now"));
    main.appendChild(list);
    var online = C.pagedTable(list, "/api/admin/sessions", C.sessionColumns(true), "Nobody is online.");
    online.load();
    var reload = C.debounce(online.load, 200);
    return {onEvent: function (e) { if (/^session\./.test(e.type)) reload(); }};
  };
})();
