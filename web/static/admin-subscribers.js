/* The Subscribers page: home subscribers over PPPoE. Status, period, balance, last payment,
   online now (their PPPoE session), kick, add and edit (admin), suspend and resume, and an
   M-Pesa prompt for what they owe. */
(function () {
  "use strict";
  var C = window.Console, h = C.h;

  var FIELDS = [
    ["name", "Name", {required: true, maxlength: 80}], ["phone", "Phone (reminders, prompts)", {placeholder: "0712 345 678"}],
    ["username", "PPPoE username", {placeholder: "the account number"}],
    ["password", "PPPoE password", {placeholder: "made up", autocomplete: "new-password"}],
    ["static_ip", "Static address (optional)", {}], ["mac", "CPE MAC (optional)", {}],
    ["paid_until", "Paid until (optional)", {type: "date"}]
  ];

  function subscriberForm(sub, done) {
    var inputs = {}, editing = !!sub, plan = h("select", {name: "package_id", required: true}),
        language = h("select", {name: "language"}, h("option", {value: "en", text: "English"}),
                     h("option", {value: "sw", text: "Kiswahili"}));
    C.get("/api/admin/packages").then(function (packages) {
      packages.filter(function (p) { return p.service === "pppoe" && p.active; }).forEach(function (p) {
        plan.appendChild(h("option", {value: p.id, text: p.name + " · KES " + p.price + " / " + p.duration +
                                                          (p.rate ? " · " + p.rate : "")}));
      });
      if (editing) plan.value = sub.package_id;
      if (!plan.options.length) plan.appendChild(h("option", {value: "", text: "no PPPoE plan yet: add one under Packages"}));
    }).catch(C.failed);
    FIELDS.forEach(function (f) {
      if (editing && f[0] === "paid_until") return;
      inputs[f[0]] = h("input", Object.assign({name: f[0]}, f[2]));
      if (editing && sub[f[0]] !== null && sub[f[0]] !== undefined && f[0] !== "password") inputs[f[0]].value = sub[f[0]];
      if (editing && f[0] === "password") inputs[f[0]].placeholder = "unchanged";
    });
    if (editing) language.value = sub.language;
    var form = h("form", {cls: "filters", id: editing ? "subscriber-edit" : "subscriber-form", on: {submit: function (ev) {
      ev.preventDefault();
      var body = {package_id: Number(plan.value), language: language.value};
      Object.keys(inputs).forEach(function (k) {
        var v = inputs[k].value.trim();
        if (v !== "" || (editing && (k === "static_ip" || k === "mac"))) body[k] = v;
      });
      if (editing && body.phone === undefined) body.phone = "";
      C.post("/api/admin/subscribers" + (editing ? "/" + sub.id : ""), body).then(function (made) {
        C.toast(editing ? "Subscriber saved" : "Subscriber added: account " + made.account);
        if (!editing) form.reset();
        done(made);
      }).catch(C.failed);
    }}}, FIELDS.filter(function (f) { return inputs[f[0]]; }).map(function (f) { return C.field(f[1], inputs[f[0]]); }),
       C.field("Plan", plan), C.field("Language", language),
       h("button", {type: "submit"}, editing ? "Save " + sub.name : "Add subscriber"));
    return form;
  }

  function status(s) {
    return h("span", {}, C.status(s.status), s.held ? h("div", {cls: "muted", text: s.hold_reason || "by hand"}) : null);
  }

  C.pages.subscribers = function () {
    var main = C.clear(C.main()), list = h("div", {id: "subscribers-list"}), made = h("div", {id: "subscriber-made"});
    var params = new URLSearchParams(location.search);
    var q = h("input", {type: "search", id: "subscriber-q", placeholder: "name, account, phone or address",
                        value: params.get("q") || ""});
    var which = h("select", {id: "subscriber-status"}, ["", "active", "grace", "suspended"].map(function (v) {
      return h("option", {value: v, text: v || "every status"});
    }));
    which.value = params.get("status") || "";
    var found = C.pagedTable(list, "/api/admin/subscribers", [
      ["Account", function (s) { return C.link("/subscribers/" + s.id, s.account); }],
      ["Name", function (s) { return s.name; }],
      ["Plan", function (s) { return s.package + (s.rate ? " · " + s.rate : ""); }],
      ["Status", status],
      ["Paid until", function (s) { return C.time(s.period_end); }],
      ["Balance", function (s) { return C.kes(s.balance); }],
      ["Last payment", function (s) { return s.last_payment_at ? C.time(s.last_payment_at) : "never"; }],
      ["Online", function (s) { return s.online ? "online · " + (s.ip || "") : ""; }],
      ["", function (s) {
        return s.online ? C.button("Kick", function () {
          if (!confirm("End " + s.name + "'s session? Their router dials again.")) return;
          return C.post("/api/admin/subscribers/" + s.id + "/kick").then(function () { C.toast("Disconnecting " + s.name); });
        }, "danger") : "";
      }]
    ], "No subscribers match.", function () { return {q: q.value, status: which.value}; });
    main.appendChild(C.title("Subscribers"));
    if (C.isAdmin()) {
      var adding = h("details", {id: "subscriber-add"}, h("summary", {text: "Add a subscriber"}));
      adding.appendChild(subscriberForm(null, function (sub) {
        C.clear(made).appendChild(h("p", {cls: "notice", id: "subscriber-credentials"},
          "Account " + sub.account + " (Paybill account number) · PPPoE " + sub.username + " / " + sub.password));
        found.load();
      }));
      main.appendChild(adding);
      main.appendChild(made);
    }
    main.appendChild(h("form", {cls: "filters", on: {submit: function (ev) { ev.preventDefault(); found.page = 1; found.load(); }}},
      q, which, h("button", {type: "submit"}, "Search")));
    main.appendChild(list);
    found.load();
    var reload = C.debounce(found.load, 300);
    return {onEvent: function (e) {
      if (/^subscriber\./.test(e.type) || /^session\./.test(e.type) || e.type === "payment.processed") reload();
    }};
  };

  C.pages.subscriber = function (id) {
    var main = C.clear(C.main()), box = h("div", {id: "subscriber"}), editor = h("div", {id: "subscriber-editor"});
    main.appendChild(box);
    main.appendChild(editor);

    function load() {
      return C.get("/api/admin/subscribers/" + id).then(function (s) {
        C.clear(box).appendChild(C.title(s.name + " · " + s.account, C.status(s.status)));
        box.appendChild(h("div", {cls: "cards"},
          C.card("Plan", s.package + (s.rate ? " · " + s.rate : ""), "sub-plan", "KES " + s.price),
          C.card("Paid until", C.time(s.period_end), "sub-period", s.held ? "suspended by hand: " + (s.hold_reason || "") : ""),
          C.card("Balance", C.kes(s.balance), "sub-balance", "owes " + C.kes(s.owed) + " for the next period"),
          C.card("Online", s.online ? s.ip || "yes" : "no", "sub-online"),
          C.card("PPPoE", s.username, "sub-username", [s.static_ip, s.mac].filter(Boolean).join(" · ") || "pool address, any CPE")));
        var phone = h("input", {id: "charge-phone", placeholder: s.phone || "phone to prompt"});
        var actions = [
          s.held ? C.button("Resume", function () { return C.post("/api/admin/subscribers/" + id + "/resume").then(load); })
                 : C.button("Suspend", function () {
                     var reason = prompt("Why suspend " + s.name + "? (optional)", "");
                     if (reason === null) return;
                     return C.post("/api/admin/subscribers/" + id + "/suspend", {reason: reason}).then(load);
                   }, "danger"),
          C.button("Kick", function () {
            return C.post("/api/admin/subscribers/" + id + "/kick").then(function () { C.toast("Disconnecting"); });
          }),
          phone,
          C.button("Charge KES " + s.owed, function () {
            var body = phone.value.trim() ? {phone: phone.value.trim()} : {};
            return C.post("/api/admin/subscribers/" + id + "/charge", body).then(function (r) {
              C.toast("M-Pesa prompt for KES " + r.amount + " sent");
            });
          })
        ];
        if (C.isAdmin()) actions.push(C.button("Edit", function () {
          C.clear(editor).appendChild(subscriberForm(s, function () { C.clear(editor); load(); }));
        }));
        box.appendChild(h("div", {cls: "inline", id: "subscriber-actions"}, actions));
        box.appendChild(h("h2", {text: "Payments"}));
        box.appendChild(C.table([
          ["When", function (p) { return C.time(p.created_at); }], ["How", function (p) { return p.method; }],
          ["Amount", function (p) { return C.kes(p.amount_paid !== null ? p.amount_paid : p.amount); }],
          ["Status", function (p) { return C.status(p.status); }], ["Receipt", function (p) { return p.receipt || ""; }]
        ], s.payments, "No payments yet."));
        box.appendChild(h("h2", {text: "Sessions"}));
        box.appendChild(C.table([
          ["Started", function (x) { return C.time(x.started_at); }],
          ["Device", function (x) { return [x.mac, x.ip].filter(Boolean).join(" · "); }],
          ["Used", function (x) { return C.bytes(x.input_bytes + x.output_bytes); }],
          ["", function (x) { return x.status === "open" ? (x.disconnect_requested ? "disconnecting…" : "online") : x.terminate_cause || x.status; }]
        ], s.sessions, "Never online yet."));
        box.appendChild(h("h2", {text: "Reminders"}));
        box.appendChild(C.table([
          ["When", function (r) { return C.time(r.created_at); }], ["Kind", function (r) { return r.kind; }],
          ["Text", function (r) { return r.text; }]
        ], s.reminders, "No reminders yet."));
      }).catch(C.failed);
    }
    load();
    var reload = C.debounce(load, 300);
    return {onEvent: function (e) {
      var d = e.data || {};
      if (d.subscriber_id === Number(id) || /^session\./.test(e.type)) reload();
    }};
  };
})();
