/* The Routers page: status and health of every router, add and edit (admin), probe, live
   sessions with kick, deploy with its steps as they happen, and the .rsc script. */
(function () {
  "use strict";
  var C = window.Console, h = C.h;

  function ago(seconds) {
    if (seconds === null || seconds === undefined) return "";
    var d = Math.floor(seconds / 86400), hrs = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
    return d ? d + "d " + hrs + "h" : hrs ? hrs + "h " + m + "m" : m + "m";
  }

  function health(r) {
    var parts = [r.ros_version && "RouterOS " + r.ros_version, r.board,
                 r.uptime_s !== null && r.uptime_s !== undefined && "up " + ago(r.uptime_s),
                 r.cpu_load !== null && r.cpu_load !== undefined && "CPU " + r.cpu_load + "%",
                 r.free_memory && C.bytes(r.free_memory) + " free"];
    return parts.filter(Boolean).join(" · ") || "not probed yet";
  }

  var FIELDS = [
    ["name", "Name", {required: true, maxlength: 40}], ["host", "Host (API address)", {required: true}],
    ["api_port", "API port", {type: "number", min: 1, max: 65535, placeholder: "8728"}],
    ["api_user", "API user", {}], ["api_password", "API password", {type: "password", autocomplete: "new-password"}],
    ["secret", "RADIUS secret", {type: "password", autocomplete: "new-password"}],
    ["nas_ip", "NAS address (RADIUS source)", {placeholder: "the host"}],
    ["coa_port", "CoA port", {type: "number", min: 1, max: 65535, placeholder: "3799"}],
    ["api_fingerprint", "TLS certificate SHA-256 (optional)", {}]
  ];

  function routerForm(router, done) {
    var inputs = {}, editing = !!router;
    FIELDS.forEach(function (f) {
      var attrs = Object.assign({name: f[0]}, f[2]);
      if (editing && (f[0] === "secret" || f[0] === "api_password")) attrs.placeholder = "unchanged";
      if (editing && f[0] === "secret") delete attrs.required;
      if (!editing && f[0] === "secret") attrs.required = true;
      inputs[f[0]] = h("input", attrs);
      if (editing && router[f[0]] !== null && router[f[0]] !== undefined && f[0] !== "secret" && f[0] !== "api_password") {
        inputs[f[0]].value = router[f[0]];
      }
    });
    var mode = h("select", {name: "mode"}, h("option", {value: "radius", text: "radius: customers log in through hotspotd's RADIUS"}),
                 h("option", {value: "api", text: "api: hotspot users are created on the router"}));
    mode.value = editing ? router.mode : "radius";
    var tls = h("input", {type: "checkbox", name: "api_tls"});
    tls.checked = editing && router.api_tls;
    var form = h("form", {cls: "filters", id: editing ? "router-edit" : "router-form", on: {submit: function (ev) {
      ev.preventDefault();
      var body = {mode: mode.value, api_tls: tls.checked};
      Object.keys(inputs).forEach(function (k) {
        var v = inputs[k].value.trim();
        if (v === "" && (editing || k !== "name")) return;
        body[k] = inputs[k].type === "number" ? Number(v) : v;
      });
      C.post("/api/admin/routers" + (editing ? "/" + router.id : ""), body).then(function () {
        C.toast(editing ? "Router saved" : "Router added");
        if (!editing) { form.reset(); mode.value = "radius"; }
        done();
      }).catch(C.failed);
    }}}, FIELDS.map(function (f) { return C.field(f[1], inputs[f[0]]); }), C.field("Mode", mode),
       C.field("API over TLS (8729)", tls), h("button", {type: "submit"}, editing ? "Save " + router.name : "Add router"));
    return form;
  }

  C.pages.routers = function () {
    var main = C.clear(C.main()), box = h("div", {id: "routers"}), panel = h("div", {id: "router-panel"}),
        progress = h("ol", {cls: "timeline", id: "deploy-progress"}), editor = h("div", {id: "router-editor"});
    var shown = null;  // the router whose sessions the panel shows
    // what Deploy and .rsc set up: the hotspot, PPPoE for home subscribers, or plain DHCP
    var service = h("select", {name: "service", id: "deploy-service"},
          h("option", {value: "hotspot", text: "hotspot"}), h("option", {value: "pppoe", text: "PPPoE (home subscribers)"}),
          h("option", {value: "dhcp", text: "DHCP server"})),
        iface = h("input", {name: "interface", id: "deploy-interface", placeholder: "e.g. ether2", maxlength: 64}),
        network = h("input", {name: "network", id: "deploy-network", value: "10.30.0.0/24", maxlength: 20});
    function choice() {
      var body = {service: service.value};
      if (service.value !== "hotspot") body.interface = iface.value.trim();
      if (service.value === "dhcp") body.network = network.value.trim();
      return body;
    }
    function scriptHref(r) {
      var body = choice(), query = Object.keys(body).map(function (k) { return k + "=" + encodeURIComponent(body[k]); });
      return "/api/admin/routers/" + r.id + "/script" + (body.service === "hotspot" ? "" : "?" + query.join("&"));
    }
    main.appendChild(C.title("Routers"));
    if (C.isAdmin()) {
      main.appendChild(h("div", {cls: "filters", id: "deploy-choice"}, C.field("Deploy as", service),
        C.field("Interface (PPPoE, DHCP)", iface), C.field("DHCP network", network)));
      service.addEventListener("change", load);
      iface.addEventListener("change", load);
      network.addEventListener("change", load);
    }
    if (C.isAdmin()) {
      var adding = h("details", {id: "router-add"}, h("summary", {text: "Add a router"}));
      adding.appendChild(routerForm(null, function () { adding.open = false; load(); }));
      main.appendChild(adding);
    }
    main.appendChild(box);
    main.appendChild(editor);
    main.appendChild(panel);
    main.appendChild(progress);

    function load() {
      return C.get("/api/admin/routers").then(function (routers) {
        C.clear(box).appendChild(C.table([  // (#routers td: no wrapping but for Health, admin.css)
          ["Name", function (r) { return h("strong", {text: r.name}); }],
          ["Mode", function (r) { return r.mode; }],
          ["API", function (r) {  // and what is weak in how hotspotd reaches it (plain, or TLS unpinned)
            return h("span", {}, r.host + ":" + r.api_port + (r.api_tls ? " (TLS)" : ""),
              (r.warnings || []).map(function (w) { return h("div", {cls: "api-warning", text: w}); }));
          }],
          ["Status", function (r) {  // and what keeps the portal from knowing its customers
            return h("span", {}, C.status(r.status || "unknown"),
              r.last_error && r.status !== "online" ? h("div", {cls: "muted", text: r.last_error}) : null,
              (r.hotspot_warnings || []).map(function (w) { return h("div", {cls: "api-warning", text: w}); }));
          }],
          ["Health", health],
          ["Seen", function (r) { return r.last_seen_at ? C.time(r.last_seen_at) : "never"; }],
          ["Deployed", function (r) {
            return r.deployed_at ? C.time(r.deployed_at) + (r.services ? " (" + r.services.replace(/,/g, ", ") + ")" : "") : "not yet";
          }],
          ["", function (r) {
            var btns = [C.button("Probe", function () {
                          return C.post("/api/admin/routers/" + r.id + "/probe").then(function () { C.toast("Probing " + r.name); });
                        }),
                        C.button("Sessions", function () { shown = r; return sessions(true); })];
            if (C.isAdmin()) {
              btns.push(C.button("Edit", function () { C.clear(editor).appendChild(routerForm(r, function () { C.clear(editor); load(); })); }));
              btns.push(C.button("Deploy", function () {
                var body = choice();
                if (!confirm("Configure " + r.name + " for " + body.service + " now? Each step is safe to run again.")) return;
                C.clear(progress).appendChild(h("li", {}, h("strong", {text: "Deploying " + body.service + " to " + r.name + "…"})));
                return C.post("/api/admin/routers/" + r.id + "/deploy", body);
              }));
              btns.push(h("a", {cls: "button", href: scriptHref(r), download: r.name + "-" + service.value + ".rsc"}, ".rsc"));
              btns.push(C.button("Remove", function () {
                if (!confirm("Forget " + r.name + "? Its sessions stay in the history.")) return;
                return C.post("/api/admin/routers/" + r.id + "/remove").then(load);
              }, "danger"));
            }
            return h("span", {cls: "inline"}, btns);
          }]
        ], routers, C.isAdmin() ? "No routers yet: add the site's MikroTik above." : "No routers yet."));
      }).catch(function (err) {
        C.clear(box).appendChild(h("p", {cls: "muted", id: "routers-unavailable", text: "Routers could not be read: " + err.message}));
      });
    }

    function sessions(refresh) {
      if (!shown) return Promise.resolve();
      var r = shown;
      return C.get("/api/admin/routers/" + r.id + "/sessions" + (refresh ? "?refresh=1" : "")).then(function (data) {
        C.clear(panel).appendChild(h("h2", {text: r.name + ": online now"}));
        panel.appendChild(h("p", {cls: "muted", text: data.refreshed_at ? "As the router listed them " + C.time(data.refreshed_at, true) +
          (data.refreshing ? " (asking it again…)" : "") : "Asking the router…"}));
        panel.appendChild(C.table([
          ["Kind", function (s) { return s.kind; }],
          ["User", function (s) { return s.user; }],
          ["Device", function (s) { return [s.mac, s.ip].filter(Boolean).join(" · "); }],
          ["Online for", function (s) { return ago(s.uptime_s); }],
          ["Data", function (s) { return C.bytes((s.bytes_in || 0) + (s.bytes_out || 0)); }],
          ["", function (s) {
            return C.button("Kick", function () {
              if (!confirm("Log " + s.user + " off " + r.name + "?")) return;
              return C.post("/api/admin/sessions/" + s.id + "/kick").then(function () { C.toast("Kicking " + s.user); });
            }, "danger");
          }]
        ], data.sessions, "Nobody is online on this router."));
      }).catch(C.failed);
    }

    load();
    var reload = C.debounce(load, 500), resessions = C.debounce(function () { return sessions(false); }, 500);
    return {onEvent: function (e) {
      if (/^router\.deploy\./.test(e.type)) {
        var what = e.type.replace("router.deploy.", "");
        var detail = what === "progress" ? e.data.step + ": " + e.data.result :
                     what === "failed" ? "failed at " + e.data.step + ": " + e.data.error :
                     what === "started" ? (e.data.resumed_from ? "started again at " + e.data.resumed_from : "started") : what;
        progress.appendChild(h("li", {cls: "deploy-" + what}, h("time", {text: C.time(e.at, true)}), " ",
          h("strong", {text: e.data.router}), " ", h("span", {text: detail})));
        if (what === "completed" || what === "failed") reload();
      }
      if (/^router\.(online|offline)$/.test(e.type)) reload();
      if (e.type === "router.sessions" && shown && e.data.router_id === shown.id) resessions();
    }};
  };
})();
