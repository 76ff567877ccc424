/* Pages: payments (with a payment's timeline), customers, online now; ending a session. */
(function () {
  "use strict";
  var C = window.Console, h = C.h;

  // -- payments

  var STATUSES = ["", "paid", "received", "pending", "failed", "cancelled", "expired", "refunded"];

  var METHODS = [["", "any way"], ["stk", "M-Pesa prompt"], ["c2b", "Paybill"]];

  C.pages.payments = function () {
    var main = C.clear(C.main());
    var params = new URLSearchParams(location.search);
    var keys = ["q", "status", "method", "package", "since", "until"], state = {};
    keys.forEach(function (k) { state[k] = params.get(k) || ""; });
    var q = h("input", {type: "search", name: "q", id: "payment-q", value: state.q, placeholder: "receipt, phone, account"});
    var status = h("select", {name: "status", id: "payment-status"}, STATUSES.map(function (s) {
      return h("option", {value: s, selected: s === state.status}, s || "any status");
    }));
    var method = h("select", {name: "method", id: "payment-method"}, METHODS.map(function (m) {
      return h("option", {value: m[0], selected: m[0] === state.method}, m[1]);
    }));
    var pkg = h("select", {name: "package", id: "payment-package"}, h("option", {value: ""}, "any package"));
    var since = h("input", {type: "date", name: "since", value: state.since});
    var until = h("input", {type: "date", name: "until", value: state.until});
    var list = h("div", {id: "payments-list"});
    var orphans = h("div", {id: "orphans"}), paybill = h("div", {id: "paybill-unmatched"});
    var exportLink = h("a", {cls: "button", id: "export-payments", href: "/api/admin/payments.csv"}, "Export CSV");
    main.appendChild(C.title("Payments", exportLink));
    main.appendChild(h("form", {cls: "filters", on: {submit: function (ev) { ev.preventDefault(); found.page = 1; found.load(); }}},
      C.field("Search", q, "wide"), C.field("Status", status), C.field("How paid", method), C.field("Package", pkg),
      C.field("From", since), C.field("Until", until), h("button", {type: "submit"}, "Search")));
    main.appendChild(list);
    main.appendChild(h("h2", {text: "Unmatched M-Pesa money"}));
    main.appendChild(h("p", {cls: "muted", text: "M-Pesa prompts' results that matched no payment. Open the customer's payment to apply one to it."}));
    main.appendChild(orphans);
    main.appendChild(h("h2", {text: "Paybill money that matched no account"}));
    main.appendChild(h("p", {cls: "muted", text: "Paid to the Paybill with an account number nobody was given, or one paid already."}));
    main.appendChild(paybill);
    C.get("/api/admin/packages").then(function (list) {
      list.forEach(function (p) { pkg.appendChild(h("option", {value: p.id, selected: String(p.id) === state.package}, p.name)); });
    });

    function filters() {
      state = {q: q.value, status: status.value, method: method.value, package: pkg.value, since: since.value, until: until.value};
      exportLink.setAttribute("href", "/api/admin/payments.csv" + C.query(state));  // the export has the list's filters
      history.replaceState(null, "", "/payments" + C.query(state));
      return Object.assign({}, state);
    }
    var found = C.pagedTable(list, "/api/admin/payments", [
      ["Time", function (p) { return C.link("/payments/" + p.id, C.time(p.created_at)); }],
      ["How paid", function (p) { return C.howPaid(p); }],
      ["Phone", function (p) { return p.phone || "—"; }],
      ["Package", function (p) { return p.package; }],
      ["Amount", function (p) { return C.kes(p.amount_paid === null ? p.amount : p.amount_paid); }],
      ["Status", function (p) { return C.status(p.status); }],
      ["Receipt", function (p) { return p.receipt ? p.receipt : p.receipt_note ? h("span", {cls: "muted", text: p.receipt_note}) : ""; }]
    ], "No payments match.", filters);
    function loadOrphans() {
      C.get("/api/admin/callbacks?per_page=20").then(function (data) { C.clear(orphans).appendChild(orphanTable(data.items)); });
      C.get("/api/admin/paybill/unmatched").then(function (data) {
        C.clear(paybill).appendChild(C.table([
          ["Received", function (c) { return C.time(c.received_at); }],
          ["Amount", function (c) { return C.kes(c.amount); }],
          ["Account typed", function (c) { return c.account || "—"; }],
          ["Receipt", function (c) { return c.receipt; }],
          ["Why", function (c) { return c.reason || ""; }]
        ], data.items, "None."));
      }).catch(function () { C.clear(paybill); });
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
    var box = h("div", {id: "payment"}), heading = h("h1", {id: "payment-title", text: "Payment"});
    main.appendChild(h("div", {cls: "page-head"}, heading, C.link("/payments", "‹ all payments")));
    main.appendChild(box);
    var self = {id: Number(id), reload: load};
    var shown = null;  // credentials the operator asked for: kept on screen through live redraws

    function load() {
      return C.get("/api/admin/payments/" + id).then(function (d) {
        var p = d.payment, paybill = p.method === "c2b";
        heading.textContent = (paybill ? "Paybill payment · account " + p.account : "Payment " + C.paymentName(p));
        document.title = heading.textContent;
        C.clear(box);
        box.appendChild(h("div", {cls: "cards facts"},
          C.card("Status", p.status, "payment-status-value"),
          C.card("Amount", C.kes(p.amount_paid === null ? p.amount : p.amount_paid), null, p.package),
          C.card("How paid", p.how_paid, "payment-how",
                 paybill ? "business number " + (d.business_number || "—") : "the prompt on the phone"),
          paybill ? C.card("Account number", p.account, "payment-account") : null,
          C.card("Phone", p.phone || "—", "payment-phone", !p.phone && paybill ? "known when M-Pesa confirms" : null),
          C.card("Receipt", p.receipt || (p.receipt_note ? "not given" : "—"), "payment-receipt",
                 p.receipt ? null : p.receipt_note)));
        box.appendChild(h("p", {cls: "diagnosis", id: "diagnosis", text: d.diagnosis}));
        box.appendChild(h("h2", {text: "Timeline"}));
        box.appendChild(h("ol", {cls: "timeline", id: "timeline"}, d.steps.map(function (s) {
          return h("li", {cls: "step step-" + s.step, "data-step": s.step},
            h("time", {datetime: s.at, text: C.time(s.at, true)}), " ", h("strong", {text: s.title}), " ",
            h("span", {cls: "muted", text: describe(s)}));
        })));
        var actions = h("div", {cls: "actions"});
        var creds = h("p", {cls: "creds", id: "payment-creds"});
        function showCreds() {
          C.clear(creds);
          if (!shown) return;
          creds.appendChild(document.createTextNode("Username " + shown.username + " · password " + shown.password +
            " · until " + C.time(shown.expires_at) + " "));
          creds.appendChild(h("button", {type: "button", cls: "link-button", on: {click: function () { shown = null; showCreds(); }}}, "Hide"));
        }
        if (p.status === "paid") {
          actions.appendChild(C.button("Resend to the router", function () {
            return C.post("/api/admin/payments/" + id + "/resend").then(function (c) {
              C.toast("Sent to the router again");
              shown = c; showCreds();
            });
          }));
          var minutes = h("select", {"aria-label": "extend by"}, [30, 60, 180, 1440].map(function (m) {
            return h("option", {value: m * 60}, m < 60 ? C.plural(m, "minute") : C.plural(m / 60, "hour"));
          }));
          var reason = h("input", {placeholder: "reason", "aria-label": "reason (kept in the audit log)", maxlength: 200});
          actions.appendChild(h("span", {cls: "inline"}, minutes, reason, C.button("Extend", function () {
            return C.post("/api/admin/payments/" + id + "/extend", {seconds: Number(minutes.value), reason: reason.value})
              .then(function (r) { C.toast("Extended until " + C.time(r.ends_at)); load(); });
          })));
        }
        if (p.customer_id) actions.appendChild(C.link("/customers/" + p.customer_id, "Customer ›"));
        box.appendChild(actions);
        box.appendChild(creds);
        showCreds();
        if (C.refundSection) box.appendChild(C.refundSection(d, load));  // admin-money.js
        if (!paybill && p.status !== "paid" && p.status !== "received" && p.status !== "refunded") {
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
    if (step.step === "account") {
      bits.push("the customer pays account " + d.account + (d.business_number ? " to business number " + d.business_number : ""));
      if (d.amount !== undefined && d.amount !== null) bits.push(C.kes(d.amount));
      return bits.join(" · ");
    }
    if (d.phone) bits.push(d.phone);
    if (d.amount !== undefined && d.amount !== null) bits.push(C.kes(d.amount));
    if (d.receipt) bits.push(d.receipt);
    if (step.step === "confirmation" && d.account) bits.push("account " + d.account);
    if (d.reason) bits.push(d.reason);
    if (d.result_desc) bits.push(d.result_desc);
    if (d.outcome && d.outcome !== "recorded") bits.push(d.outcome);
    if (d.times) bits.push(C.plural(d.times, "time"));
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
    var q = h("input", {type: "search", id: "customer-q", placeholder: "phone, user or MAC", "aria-label": "search",
                        value: new URLSearchParams(location.search).get("q") || ""});
    var list = h("div", {id: "customers-list"});
    var found = C.pagedTable(list, "/api/admin/customers", [
      ["Customer", function (c) { return C.link("/customers/" + c.id, c.username || c.phone || ("#" + c.id)); }],
      ["Phone", function (c) { return c.phone || "voucher"; }],
      ["On", function (c) { return c.package ? c.package + " until " + C.time(c.ends_at) : "—"; }],
      ["Online", function (c) { return c.suspended ? C.status("suspended") : c.online ? C.plural(c.online, "device") : ""; }]
    ], "No customers match.", function () { return {q: q.value}; });
    main.appendChild(C.title("Customers"));
    main.appendChild(h("form", {cls: "filters", on: {submit: function (ev) { ev.preventDefault(); found.page = 1; found.load(); }}},
      q, h("button", {type: "submit"}, "Search")));
    main.appendChild(list);
    found.load();
    return {};
  };

  /* Ending a session of the record (RADIUS accounting): a Disconnect-Request to its router,
     asked for after the operator confirms. The server says where it stands: waiting for the
     router (for `wait_s` more seconds) or "no answer", when the page offers to try again. */
  C.disconnect = function (s, again) {
    var who = (s.username || "this session") + (s.mac ? " on " + s.mac : "");
    if (!again && !confirm("Disconnect " + who + " now? The device can log in again while it has time left.")) {
      return Promise.resolve(false);
    }
    return C.post("/api/admin/sessions/" + s.id + "/disconnect").then(function (r) {
      C.toast(r.asked ? "Asking the router to disconnect " + who : "That session has ended already");
      return true;
    });
  };

  C.sessionColumns = function (withCustomer, reload) {
    var timer = null;
    function wake(seconds) {  // redraw when the router's time to answer is up
      if (timer !== null) return;
      timer = setTimeout(function () { timer = null; reload(); }, Math.max(0.5, seconds) * 1000 + 300);
    }
    return [
      ["Started", function (s) { return C.time(s.started_at); }],
      withCustomer ? ["User", function (s) { return s.customer_id ? C.link("/customers/" + s.customer_id, s.username) : s.username; }] : null,
      ["Device", function (s) { return (s.mac || "") + (s.ip ? " · " + s.ip : ""); }],
      ["Router", function (s) { return s.router || s.router_id; }],
      ["Used", function (s) { return C.bytes(s.input_bytes + s.output_bytes); }],
      ["", function (s) {
        if (s.status !== "open") return s.terminate_cause || s.status;
        var d = s.disconnect;
        if (d && d.state === "waiting") {
          wake(d.wait_s);
          return h("span", {cls: "muted disconnecting", text: "disconnecting…"});
        }
        if (d && d.state === "no_answer") {
          return h("span", {cls: "inline no-answer"},
            h("span", {cls: "error", text: "The router did not answer"}),
            C.button("Try again", function () { return C.disconnect(s, true).then(reload); }));
        }
        return C.button("Kick", function () {
          return C.disconnect(s, false).then(function (asked) { if (asked) reload(); });
        }, "danger");
      }]
    ].filter(Boolean);
  };

  C.pages.online = function () {
    var main = C.clear(C.main()), list = h("div", {id: "online-list"});
    main.appendChild(C.title("Online now"));
    main.appendChild(list);
    var online = C.pagedTable(list, "/api/admin/sessions", C.sessionColumns(true, function () { online.load(); }),
                              "Nobody is online.");
    online.load();
    var reload = C.debounce(online.load, 200);
    return {onEvent: function (e) { if (/^session\./.test(e.type)) reload(); }};
  };
})();
