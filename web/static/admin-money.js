/* Every shilling, every way back: a payment's refund (with a confirmation step, a reason,
   and what was used so far), Paybill reconciliation on the System page, the texts'
   templates on the Settings page, and the SMS page. Loaded after admin-more.js. */
(function () {
  "use strict";
  var C = window.Console, h = C.h;

  function hours(seconds) {
    if (seconds < 3600) return Math.round(seconds / 60) + " min";
    return (seconds / 3600).toFixed(seconds < 36000 ? 1 : 0) + " h";
  }

  // -- a payment's refund (called by the payment page with its detail and its reload)

  C.refundSection = function (d, reload) {
    var box = h("section", {cls: "refund", id: "refund"}), p = d.payment, u = d.usage;
    box.appendChild(h("h2", {text: "Refund"}));
    if (u) {
      box.appendChild(h("p", {id: "refund-usage", text: "Used so far: " + hours(u.seconds_since) + " since " +
        C.time(u.since) + " (" + hours(u.online_seconds) + " online in " + u.sessions + " session(s)), " +
        C.bytes(u.bytes_used) + " of data" + (u.data_limit !== null ? " of " + C.bytes(u.data_limit) : "") +
        "; the package runs until " + C.time(u.ends_at) + "."}));
    }
    if (d.refund) {
      var r = d.refund;
      box.appendChild(h("p", {id: "refund-state"}, C.status(r.outcome || r.status), " asked by " + (r.requested_by || "?") +
        " at " + C.time(r.created_at) + " · " + (r.reason || "") + (r.result_desc ? " · M-Pesa: " + r.result_desc : "") +
        (r.error && r.status !== "done" ? " · " + r.error : "")));
    }
    if (!d.refundable) {
      if (d.refund_refused && p.status === "paid") box.appendChild(h("p", {cls: "muted", id: "refund-refused", text: d.refund_refused}));
      return box;
    }
    if (!C.isAdmin()) {
      box.appendChild(h("p", {cls: "muted", text: "An admin can refund this payment."}));
      return box;
    }
    var amount = p.amount_paid === null ? p.amount : p.amount_paid;
    var reason = h("input", {id: "refund-reason", placeholder: "reason (sent to M-Pesa, kept in the audit log)",
                             maxlength: 100, minlength: 2});
    var confirmStep = h("div", {cls: "confirm", hidden: true},
      h("p", {text: "Give " + C.kes(amount) + " back to " + p.phone + " through M-Pesa (" + p.receipt + ")? " +
                    "The package ends now and the device is disconnected. This cannot be undone."}),
      reason, " ",
      C.button("Refund " + C.kes(amount), function () {
        if (reason.value.trim().length < 2) { C.toast("Give a reason (2 to 100 characters)", true); return; }
        return C.post("/api/admin/payments/" + p.id + "/refund", {reason: reason.value}).then(function () {
          C.toast("Refund asked of M-Pesa: the page updates when it answers"); reload();
        });
      }, "danger"), " ",
      C.button("Cancel", function () { confirmStep.hidden = true; start.hidden = false; }));
    var start = C.button("Refund…", function () { confirmStep.hidden = false; start.hidden = true; reason.focus(); }, "danger");
    start.id = "refund-start";
    box.appendChild(start);
    box.appendChild(confirmStep);
    return box;
  };

  // -- System: Paybill reconciliation

  function pullBox(box) {
    return C.get("/api/admin/pull").then(function (s) {
      C.clear(box);
      if (!s.enabled) {
        box.appendChild(h("p", {cls: "muted", text: "Off: set [mpesa] paybill and pull_interval (and run `hotspotd mpesa register-pull` once)."}));
        return;
      }
      box.appendChild(h("p", {id: "pull-state"}, "Read up to ", h("strong", {text: s.pulled_to ? C.time(s.pulled_to, true) : "not yet"}),
        " · every " + s.interval + " s · " + s.recorded + " payment(s) found that no confirmation brought" +
        (s.last_error ? " · last try failed: " + s.last_error : "")));
      if (s.unchecked.length) {
        box.appendChild(h("p", {cls: "bad", text: "These hours could not be checked (Daraja keeps 48 hours); compare them with the M-Pesa statement:"}));
        box.appendChild(h("ul", {id: "pull-unchecked"}, s.unchecked.map(function (g) { return h("li", {text: g.text}); })));
      }
    }).catch(C.failed);
  }

  var system = C.pages.system;
  C.pages.system = function () {
    var page = system.apply(this, arguments) || {}, box = h("div", {id: "pull"});
    C.main().appendChild(h("h2", {text: "Paybill reconciliation (Pull Transactions)"}));
    C.main().appendChild(box);
    pullBox(box);
    var inner = page.onEvent, again = C.debounce(function () { pullBox(box); }, 1000);
    return {onEvent: function (e) { if (inner) inner(e); if (/^payment\./.test(e.type)) again(); }};
  };

  // -- Settings: the texts' templates

  var settings = C.pages.settings;
  C.pages.settings = function () {
    var page = settings.apply(this, arguments) || {};
    var form = h("form", {cls: "stack", id: "sms-texts"});
    C.main().appendChild(h("h2", {text: "Texts to customers (SMS)"}));
    C.main().appendChild(form);
    C.get("/api/admin/sms/texts").then(function (t) {
      var en = h("textarea", {maxlength: 480}, t.template_en), sw = h("textarea", {maxlength: 480}, t.template_sw);
      var lang = h("select", {}, h("option", {value: "en"}, "English"), h("option", {value: "sw"}, "Kiswahili"));
      lang.value = t.language;
      [en, sw, lang].forEach(function (el) { if (!C.isAdmin()) el.setAttribute("disabled", ""); });
      form.appendChild(h("p", {cls: "muted", text: "Fill in " + t.placeholders.map(function (n) { return "{" + n + "}"; }).join(" ") +
        "; {username} and {password} must be there."}));
      form.appendChild(C.field("English", en));
      form.appendChild(C.field("Kiswahili", sw));
      form.appendChild(C.field("Language when the customer's is not known", lang));
      if (C.isAdmin()) form.appendChild(h("button", {type: "submit"}, "Save the texts"));
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        C.post("/api/admin/sms/texts", {template_en: en.value, template_sw: sw.value, language: lang.value})
          .then(function () { C.toast("Texts saved"); }).catch(C.failed);
      });
    }).catch(C.failed);
    return page;
  };

  // -- SMS: what was sent, delivered, failed, and what it cost

  C.pages.sms = function () {
    var main = C.clear(C.main()), cards = h("div", {cls: "cards", id: "sms-summary"}), list = h("div", {id: "sms-list"});
    var status = h("select", {id: "sms-status"}, ["", "queued", "sent", "delivered", "failed"].map(function (s) {
      return h("option", {value: s}, s || "any status");
    }));
    main.appendChild(C.title("Texts to customers"));
    main.appendChild(cards);
    main.appendChild(h("form", {cls: "filters", on: {submit: function (ev) { ev.preventDefault(); found.page = 1; found.load(); }}},
      status, h("button", {type: "submit"}, "Show")));
    main.appendChild(list);
    var found = C.pagedTable(list, "/api/admin/sms", [
      ["Time", function (m) { return C.time(m.created_at); }],
      ["To", function (m) { return m.phone || "no number yet"; }],
      ["What", function (m) { return m.kind + (m.lang ? " (" + m.lang + ")" : ""); }],
      ["Status", function (m) { return C.status(m.status); }],
      ["Cost", function (m) { return m.cost || ""; }],
      ["Note", function (m) { return (m.error || m.gateway_status || "") + (m.attempts > 1 ? " · " + m.attempts + " tries" : ""); }]
    ], "No texts yet.", function () { return {status: status.value}; });
    function load() {
      C.get("/api/admin/sms?per_page=1").then(function (d) {
        var s = d.summary, cost = Object.keys(s.cost).map(function (c) { return c + " " + s.cost[c].toFixed(2); }).join(", ");
        C.clear(cards);
        [["Sent", s.sent + s.delivered, "sms-sent"], ["Delivered", s.delivered, "sms-delivered"],
         ["Failed", s.failed, "sms-failed"], ["Waiting", s.queued, "sms-queued"], ["Cost", cost || "0", "sms-cost"]]
          .forEach(function (c) { cards.appendChild(C.card(c[0], String(c[1]), c[2], "last " + d.days + " days")); });
        if (!d.enabled) cards.appendChild(h("p", {cls: "muted", text: "Texts are off: set [sms] provider, username and api_key."}));
      }).catch(C.failed);
      found.load();
    }
    load();
    var reload = C.debounce(load, 500);
    return {onEvent: function (e) { if (/^sms\./.test(e.type)) reload(); }};
  };
})();
