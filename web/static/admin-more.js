/* Pages: a customer, vouchers, packages, settings, audit log. */
(function () {
  "use strict";
  var C = window.Console, h = C.h;

  var field = C.field;

  // -- one customer

  C.pages.customer = function (id) {
    var main = C.clear(C.main()), box = h("div", {id: "customer"}), heading = h("h1", {id: "customer-title", text: "Customer"});
    main.appendChild(h("div", {cls: "page-head"}, heading, C.link("/customers", "‹ all customers")));
    main.appendChild(box);
    // What the operator revealed (each reveal is a POST the server audits) stays on screen
    // through the live redraws until they hide it or leave the page.
    var revealed = {login: null, phone: null};

    function load() {
      return C.get("/api/admin/customers/" + id).then(function (c) {
        heading.textContent = c.username ? "Customer " + c.username : c.phone ? "Customer " + c.phone : "Customer #" + c.id;
        document.title = heading.textContent;
        C.clear(box);
        var cur = c.current;
        var phone = h("strong", {id: "customer-phone"});
        var secret = h("p", {cls: "creds", id: "customer-login"});
        function hide(what) {
          return h("button", {type: "button", cls: "link-button", id: "hide-" + what,
                              on: {click: function () { revealed[what] = null; show(); }}}, "Hide");
        }
        function show() {
          C.clear(phone).appendChild(document.createTextNode(revealed.phone || c.phone || "voucher customer"));
          if (revealed.phone) { phone.appendChild(document.createTextNode(" ")); phone.appendChild(hide("phone")); }
          C.clear(secret);
          if (revealed.login) {
            secret.appendChild(document.createTextNode("Username " + revealed.login.username + " · password " +
                                                       revealed.login.password + " "));
            secret.appendChild(hide("login"));
          }
        }
        box.appendChild(h("div", {cls: "cards"},
          C.card("Username", c.username || "—", "customer-username"),
          h("div", {cls: "card"}, h("div", {cls: "label", text: "Phone"}), phone),
          C.card("Time left", cur ? C.left(cur.seconds_left) : "none", "customer-time-left", cur ? cur.package : ""),
          C.card("Data left", cur ? (cur.data_limit === null ? "unlimited" : C.bytes(cur.data_left)) : "—", "customer-data-left"),
          C.card("Devices", String(c.devices.length), null, c.devices.join(", "))));
        var actions = h("div", {cls: "actions"});
        actions.appendChild(c.suspended ?
          C.button("Resume", function () { return C.post("/api/admin/customers/" + id + "/resume").then(load); }) :
          C.button("Suspend", function () {
            var why = prompt("Suspend this customer? Reason (kept in the audit log):");
            if (why === null) return;
            return C.post("/api/admin/customers/" + id + "/suspend", {reason: why}).then(load);
          }, "danger"));
        if (c.username) actions.appendChild(C.button("Show login", function () {
          return C.post("/api/admin/customers/" + id + "/credentials").then(function (r) { revealed.login = r; show(); });
        }));
        if (c.phone) actions.appendChild(C.button("Show phone", function () {
          return C.post("/api/admin/customers/" + id + "/phone").then(function (r) { revealed.phone = r.phone; show(); });
        }));
        show();
        box.appendChild(actions);
        box.appendChild(secret);
        box.appendChild(h("h2", {text: "Subscriptions"}));
        box.appendChild(C.table([
          ["Package", function (s) { return s.package; }],
          ["Status", function (s) { return C.status(s.status); }],
          ["From", function (s) { return C.time(s.starts_at); }],
          ["Until", function (s) { return C.time(s.ends_at); }],
          ["Data", function (s) { return s.data_limit === null ? "unlimited" : C.bytes(s.bytes_used) + " of " + C.bytes(s.data_limit); }],
          ["", function (s) {
            if (s.status === "suspended") return "";
            return C.button("+1 hour", function () {
              return C.post("/api/admin/subscriptions/" + s.id + "/extend", {seconds: 3600, reason: "from the customer page"})
                .then(function () { C.toast("Extended by an hour"); load(); });
            });
          }]
        ], c.subscriptions, "Nothing bought yet."));
        box.appendChild(h("h2", {text: "Sessions"}));
        box.appendChild(C.table(C.sessionColumns(false, load), c.sessions, "No sessions."));
        box.appendChild(h("h2", {text: "What they bought"}));
        var bought = c.payments.map(function (p) {
          return {id: "p" + p.id, at: p.created_at, how: C.howPaid(p), what: p.package,
                  amount: p.amount_paid === null ? p.amount : p.amount_paid, status: p.status,
                  receipt: C.receipt(p), href: "/payments/" + p.id};
        }).concat(c.vouchers.map(function (v) {
          return {id: "v" + v.id, at: v.redeemed_at, how: "Voucher " + C.code(v), what: v.package, amount: v.price,
                  status: "used", receipt: ""};
        })).sort(function (a, b) { return a.at < b.at ? 1 : -1; });
        box.appendChild(C.table([
          ["Time", function (b) { return b.href ? C.link(b.href, C.time(b.at)) : C.time(b.at); }],
          ["How paid", function (b) { return b.how; }],
          ["Package", function (b) { return b.what; }],
          ["Amount", function (b) { return C.kes(b.amount); }],
          ["Status", function (b) { return C.status(b.status); }],
          ["Receipt", function (b) { return b.receipt; }]
        ], bought, "Nothing bought yet."));
      }).catch(C.failed);
    }
    load();
    var reload = C.debounce(load, 300);
    return {onEvent: function (e) { if (e.data && String(e.data.customer_id) === String(id) || /^session\./.test(e.type)) reload(); }};
  };

  // -- vouchers

  C.pages.vouchers = function () {
    var main = C.clear(C.main()), list = h("div", {id: "batches"});
    var pkg = h("select", {id: "voucher-package", name: "package_id"});
    var count = h("input", {id: "voucher-count", type: "number", min: 1, max: 1000, value: 10});
    main.appendChild(C.title("Vouchers"));
    main.appendChild(h("form", {cls: "filters", id: "voucher-form", on: {submit: function (ev) {
      ev.preventDefault();
      C.post("/api/admin/vouchers", {package_id: Number(pkg.value), count: Number(count.value)}).then(function (b) {
        location.href = "/vouchers/" + encodeURIComponent(b.batch);
      }).catch(C.failed);
    }}}, field("Package", pkg), field("How many", count), h("button", {type: "submit", id: "voucher-make"}, "Make vouchers")));
    main.appendChild(list);
    C.get("/api/admin/packages").then(function (all) {
      all.filter(function (p) { return p.active; }).forEach(function (p) {
        pkg.appendChild(h("option", {value: p.id}, p.name + " · " + C.kes(p.price)));
      });
    });
    var batches = C.pagedTable(list, "/api/admin/vouchers", [
      ["Made", function (b) { return C.link("/vouchers/" + encodeURIComponent(b.batch), C.time(b.created_at)); }],
      ["Package", function (b) { return b.package + " · " + C.kes(b.price); }],
      ["Codes", function (b) { return b.count; }],
      ["Used", function (b) { return b.used; }],
      ["Unused", function (b) { return b.unused; }],
      ["Voided", function (b) { return b.voided; }]
    ], "No vouchers made yet.");
    batches.load();
    return {onEvent: function (e) { if (e.type === "voucher.redeemed") batches.load(); }};
  };

  C.pages.batch = function (batch) {
    var main = C.clear(C.main()), box = h("div", {id: "batch"});
    var enc = encodeURIComponent(batch);
    main.appendChild(C.title("Voucher batch", C.link("/vouchers", "‹ all batches")));
    main.appendChild(h("div", {cls: "actions"},
      h("a", {cls: "button", href: "/vouchers/" + enc + "/print", id: "print-sheet", target: "_blank"}, "Print sheet"),
      h("a", {cls: "button", href: "/api/admin/vouchers/" + enc + "/csv", id: "export-csv"}, "Export CSV"),
      C.button("Void unused", function () {
        if (!confirm("Void every unused code of this batch? They will stop working.")) return;
        return C.post("/api/admin/vouchers/" + enc + "/void").then(function (r) { C.toast(r.voided + " voided"); load(); });
      }, "danger")));
    main.appendChild(box);
    function load() {
      C.get("/api/admin/vouchers/" + enc + "?per_page=200").then(function (data) {
        var b = data.batch;
        C.clear(box);
        box.appendChild(h("p", {id: "batch-summary", text: b.package + " · " + C.kes(b.price) + " · valid " + b.validity +
          " · " + C.plural(b.count, "code") + ": " + b.used + " used, " + b.unused + " unused, " + b.voided + " voided"}));
        box.appendChild(C.table([
          ["Code", function (v) { return h("code", {text: C.code(v)}); }],
          ["Status", function (v) { return C.status(v.status); }],
          ["Redeemed", function (v) { return v.redeemed_at ? C.time(v.redeemed_at) : ""; }],
          ["", function (v) {
            if (v.status !== "unused") return "";
            return C.button("Void", function () {
              return C.post("/api/admin/vouchers/" + enc + "/void", {voucher_id: v.id}).then(load);
            });
          }]
        ], data.items));
      }).catch(C.failed);
    }
    load();
    return {onEvent: function (e) { if (e.type === "voucher.redeemed") load(); }};
  };

  // -- packages

  C.pages.packages = function () {
    var main = C.clear(C.main()), list = h("div", {id: "packages-list"});
    main.appendChild(C.title("Packages"));
    if (C.isAdmin()) {
      var inputs = {name: h("input", {required: true, maxlength: 60}), price: h("input", {type: "number", min: 1, required: true}),
                    duration: h("input", {placeholder: "1h, 1d", required: true}), rate: h("input", {placeholder: "2M/5M"}),
                    data: h("input", {placeholder: "3GB"}), devices: h("input", {type: "number", min: 1, value: 1}),
                    service: h("select", {name: "service"}, h("option", {value: "hotspot", text: "the hotspot"}),
                               h("option", {value: "pppoe", text: "home subscribers (PPPoE plan, e.g. 30d)"}))};
      main.appendChild(h("form", {cls: "filters", id: "package-form", on: {submit: function (ev) {
        ev.preventDefault();
        var body = {};
        Object.keys(inputs).forEach(function (k) { body[k] = inputs[k].value; });
        C.post("/api/admin/packages", body).then(function () { C.toast("Package added"); load(); }).catch(C.failed);
      }}}, field("Name", inputs.name), field("Price (KES)", inputs.price), field("Duration", inputs.duration),
         field("Speed up/down", inputs.rate), field("Data cap (empty: none)", inputs.data), field("Devices", inputs.devices),
         field("For", inputs.service), h("button", {type: "submit"}, "Add package")));
    } else {
      main.appendChild(h("p", {cls: "muted", text: "Only an admin may change packages."}));
    }
    main.appendChild(list);
    function edit(p) {
      var name = prompt("Name", p.name); if (name === null) return;
      var price = prompt("Price (KES)", p.price); if (price === null) return;
      var duration = prompt("Duration (e.g. 1h, 1d)", p.duration); if (duration === null) return;
      var rate = prompt("Speed up/down (e.g. 2M/5M)", p.rate); if (rate === null) return;
      return C.post("/api/admin/packages/" + p.id, {name: name, price: price, duration: duration, rate: rate}).then(load);
    }
    function load() {
      C.get("/api/admin/packages").then(function (all) {
        C.clear(list).appendChild(C.table([
          ["Name", function (p) { return p.name; }],
          ["For", function (p) { return p.service === "pppoe" ? "PPPoE plan" : "hotspot"; }],
          ["Price", function (p) { return C.kes(p.price); }],
          ["Time", function (p) { return p.duration; }],
          ["Speed", function (p) { return p.rate || "—"; }],
          ["Data", function (p) { return p.data; }],
          ["Devices", function (p) { return C.plural(p.devices, "device"); }],
          ["", function (p) {
            if (!C.isAdmin()) return p.active ? "on sale" : "retired";
            return h("span", {cls: "inline"}, C.button("Edit", function () { return edit(p); }),
              C.button(p.active ? "Retire" : "Sell again", function () {
                return C.post("/api/admin/packages/" + p.id, {active: !p.active}).then(load);
              }, p.active ? "danger" : ""));
          }]
        ], all, "No packages yet."));
      }).catch(C.failed);
    }
    load();
    return {};
  };

  // -- settings and accounts

  C.pages.settings = function () {
    var main = C.clear(C.main()), form = h("form", {cls: "stack", id: "settings-form"}), accounts = h("div", {id: "accounts"});
    main.appendChild(C.title("Settings"));
    main.appendChild(form);
    C.get("/api/admin/settings").then(function (s) {
      var inputs = {name: h("input", {value: s.name, maxlength: 60}), wifi_name: h("input", {value: s.wifi_name || "",
                    maxlength: 32, placeholder: s.name}), help_phone: h("input", {value: s.help_phone}),
                    notice: h("textarea", {maxlength: 280}, s.notice), timezone: h("input", {value: s.timezone})};
      var disabled = !C.isAdmin();
      Object.keys(inputs).forEach(function (k) { if (disabled) inputs[k].setAttribute("disabled", ""); });
      form.appendChild(field("Site name", inputs.name));
      form.appendChild(field("WiFi name on voucher sheets (empty: the site name)", inputs.wifi_name));
      form.appendChild(field("Help phone (shown on the portal)", inputs.help_phone));
      form.appendChild(field("Notice (shown on the portal)", inputs.notice));
      form.appendChild(field("Time zone", inputs.timezone));
      if (!disabled) form.appendChild(h("button", {type: "submit"}, "Save"));
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var body = {};
        Object.keys(inputs).forEach(function (k) { body[k] = inputs[k].value; });
        C.post("/api/admin/settings", body).then(function () { C.toast("Saved"); }).catch(C.failed);
      });
    }).catch(C.failed);
    var current = h("input", {type: "password", autocomplete: "current-password"}),
        fresh = h("input", {type: "password", autocomplete: "new-password", minlength: 8});
    main.appendChild(h("h2", {text: "My password"}));
    main.appendChild(h("form", {cls: "filters", on: {submit: function (ev) {
      ev.preventDefault();
      C.post("/api/admin/me/password", {current: current.value, "new": fresh.value}).then(function () {
        location.href = "/login";
      }).catch(C.failed);
    }}}, field("Current", current), field("New (8 or more)", fresh), h("button", {type: "submit"}, "Change")));
    if (!C.isAdmin()) return {};
    main.appendChild(h("h2", {text: "Accounts"}));
    main.appendChild(accounts);
    var user = h("input", {placeholder: "username"}), pass = h("input", {type: "password", placeholder: "password", minlength: 8}),
        role = h("select", {}, h("option", {value: "operator"}, "operator"), h("option", {value: "admin"}, "admin"));
    main.appendChild(h("form", {cls: "filters", on: {submit: function (ev) {
      ev.preventDefault();
      C.post("/api/admin/admins", {username: user.value, password: pass.value, role: role.value}).then(function () {
        C.toast("Account added"); user.value = pass.value = ""; loadAccounts();
      }).catch(C.failed);
    }}}, user, pass, role, h("button", {type: "submit"}, "Add account")));
    function loadAccounts() {
      C.get("/api/admin/admins").then(function (data) {
        var admins = data.items.filter(function (a) { return a.role === "admin"; }).length;
        C.clear(accounts).appendChild(C.table([["Name", function (a) { return a.username; }], ["Role", function (a) { return a.role; }],
          ["Logged in", function (a) { return a.logins; }],
          ["", function (a) {
            var base = "/api/admin/admins/" + encodeURIComponent(a.username), me = a.username === C.me.username;
            var role = a.role === "admin" && admins <= 1 ?
              h("span", {cls: "muted only-admin", text: "The only admin: there must always be one, so make another account admin first."}) :
              C.button(a.role === "admin" ? "Make operator" : "Make admin", function () {
                if (me && !confirm("Make yourself an operator? You will no longer be able to change packages, routers, accounts or settings.")) return;
                return C.post(base + "/role", {role: a.role === "admin" ? "operator" : "admin"}).then(function () {
                  if (me) location.reload(); else loadAccounts();
                });
              });
            return h("span", {cls: "inline"}, role,
              C.button("Set password", function () {
                var p = prompt("New password for " + a.username + " (8 or more characters)"); if (!p) return;
                return C.post(base + "/password", {password: p}).then(function () { C.toast("Password changed"); });
              }),
              a.username === C.me.username ? null : C.button("Remove", function () {
                if (!confirm("Remove " + a.username + "?")) return;
                return C.post(base + "/remove").then(loadAccounts);
              }, "danger"));
          }]], data.items));
      }).catch(C.failed);
    }
    loadAccounts();
    return {};
  };

  /* An audit entry's details as readable lines ("reason: goodwill"), nested values indented. */
  function details(value) {
    if (value === null || value === undefined) return "";
    var lines = [];
    (function walk(v, depth, key) {
      var pad = new Array(depth + 1).join("  "), label = key === null ? "" : key.replace(/_/g, " ") + ": ";
      if (v !== null && typeof v === "object" && !Array.isArray(v)) {
        if (key !== null) lines.push(pad + key.replace(/_/g, " ") + ":");
        Object.keys(v).forEach(function (k) { walk(v[k], key === null ? depth : depth + 1, k); });
      } else if (Array.isArray(v)) {
        lines.push(pad + label + (v.length ? v.map(function (x) { return typeof x === "object" ? JSON.stringify(x) : String(x); }).join(", ") : "none"));
      } else {
        lines.push(pad + label + (v === true ? "yes" : v === false ? "no" : v === "" ? "(empty)" : String(v)));
      }
    })(value, 0, null);
    return h("div", {cls: "audit-details"}, lines.map(function (line) { return h("div", {text: line}); }));
  }

  C.pages.audit = function () {
    var main = C.clear(C.main()), list = h("div", {id: "audit-list"});
    main.appendChild(C.title("Audit log"));
    main.appendChild(list);
    var entries = C.pagedTable(list, "/api/admin/audit", [
      ["Time", function (e) { return C.time(e.at, true); }], ["Who", function (e) { return e.data.by + " (" + e.data.role + ")"; }],
      ["From", function (e) { return e.data.from || ""; }], ["Action", function (e) { return e.data.action; }],
      ["On", function (e) { return e.data.target; }],
      ["Details", function (e) { return details(e.data.details); }]
    ], "Nothing yet.");
    entries.load();
    return {onEvent: function (e) { if (e.type === "admin.action" && entries.page === 1) entries.load(); }};
  };
})();
