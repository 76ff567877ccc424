/* The console's shared parts: the JSON API with its CSRF token, formatting (site time
   zone, KES), a tiny DOM builder (text only: nothing from the server becomes HTML), the
   live feed over /ws, and the page router. Pages are in admin-pages.js and admin-more.js. */
(function () {
  "use strict";

  var C = window.Console = {pages: {}, me: null, lastEventId: 0, current: null};

  // -- DOM

  function h(tag, attrs) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "on") Object.keys(value).forEach(function (ev) { el.addEventListener(ev, value[ev]); });
      else if (key === "text") el.textContent = value;
      else if (key === "cls") el.className = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    });
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { add(el, c); }); return; }
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  C.h = h;
  C.clear = function (el) { while (el.firstChild) el.removeChild(el.firstChild); return el; };
  C.main = function () { return document.getElementById("main"); };

  C.toast = function (text, bad) {
    var t = document.getElementById("toast");
    t.textContent = text;
    t.className = "toast show" + (bad ? " bad" : "");
    clearTimeout(C._toastTimer);
    C._toastTimer = setTimeout(function () { t.className = "toast"; }, 4000);
  };

  // -- formatting: the site's time zone, shillings, bytes

  C.tz = function () { return (C.me && C.me.site.timezone) || "Africa/Nairobi"; };
  C.time = function (iso, withSeconds) {
    if (!iso) return "";
    var opts = {timeZone: C.tz(), day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit",
                hour12: false};
    if (withSeconds) opts.second = "2-digit";
    return new Intl.DateTimeFormat("en-GB", opts).format(new Date(iso));
  };
  C.date = function (iso) {
    return new Intl.DateTimeFormat("en-GB", {timeZone: C.tz(), day: "2-digit", month: "short", year: "numeric"})
      .format(new Date(iso));
  };
  C.kes = function (n) {
    if (n === null || n === undefined) return "";
    return "KES " + Number(n).toLocaleString("en-KE", {maximumFractionDigits: 2});
  };
  C.bytes = function (n) {
    if (n === null || n === undefined) return "unlimited";
    var units = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(n < 10 ? 1 : 0) : n) + " " + units[i];
  };
  /* "1 hour", "2 hours": the console is English only, so one and many are enough. */
  C.plural = function (n, one, many) { return n + " " + (Number(n) === 1 ? one : (many || one + "s")); };
  C.code = function (v) { return v.printed || v.code; };  // a voucher code as printed: ABCDE-FGHIJ
  /* How a payment was paid, and its receipt (or why there is none). */
  C.howPaid = function (p) {
    return p.how_paid + (p.method === "c2b" && p.account ? " · account " + p.account : "");
  };
  C.receipt = function (p) { return p.receipt || p.receipt_note || ""; };
  /* A short name for a payment, for titles: its receipt, its Paybill account, or the phone. */
  C.paymentName = function (p) {
    if (p.receipt) return "M-Pesa " + p.receipt;
    if (p.method === "c2b" && p.account) return "Paybill account " + p.account;
    return p.phone ? "from " + p.phone : "reference " + p.ref;
  };
  /* A toggle: the summary always shown, the rest when asked for ("details"). */
  C.details = function (summary, content, id) {
    return h("details", {cls: "more", id: id}, h("summary", {text: summary}), content);
  };
  C.left = function (seconds) {
    if (seconds <= 0) return "none";
    var d = Math.floor(seconds / 86400), hr = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
    return (d ? d + "d " : "") + (d || hr ? hr + "h " : "") + m + "m";
  };

  // -- the API

  C.api = function (method, path, body) {
    var headers = {"Accept": "application/json"};
    if (method !== "GET") headers["X-CSRF-Token"] = C.me ? C.me.csrf_token : "";
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {method: method, headers: headers, credentials: "same-origin",
                        body: body === undefined ? undefined : JSON.stringify(body)})
      .then(function (r) {
        if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); }
        var type = r.headers.get("Content-Type") || "";
        var read = type.indexOf("json") >= 0 ? r.json() : r.text();
        return read.then(function (data) {
          if (!r.ok) {
            var err = new Error((data && data.error) || ("HTTP " + r.status));
            err.status = r.status;
            throw err;
          }
          return data;
        });
      });
  };
  C.get = function (path) { return C.api("GET", path); };
  C.post = function (path, body) { return C.api("POST", path, body === undefined ? {} : body); };
  C.failed = function (err) { C.toast(err.message || String(err), true); };

  // -- building blocks for pages

  C.title = function (text, extra) { return h("div", {cls: "page-head"}, h("h1", {text: text}), extra || null); };
  C.card = function (label, value, id, note) {
    return h("div", {cls: "card"}, h("div", {cls: "label", text: label}),
             h("div", {cls: "value", id: id, text: value}), note ? h("div", {cls: "note", text: note}) : null);
  };
  /* A table that becomes one card per row on a narrow screen (each cell carries its label). */
  C.table = function (columns, rows, empty) {
    if (!rows.length) return h("p", {cls: "muted empty", text: empty || "Nothing here."});
    return h("table", {cls: "list"},
      h("thead", {}, h("tr", {}, columns.map(function (c) { return h("th", {text: c[0]}); }))),
      h("tbody", {}, rows.map(function (row) {
        return h("tr", {"data-id": row.id}, columns.map(function (c) {
          var v = c[1](row);
          var empty = v === null || v === undefined || v === "";
          return h("td", {"data-label": c[0], cls: empty ? "empty-cell" : null}, empty ? null : v instanceof Node ? v : String(v));
        }));
      })));
  };
  C.pager = function (data, go) {
    var pages = Math.max(1, Math.ceil(data.total / data.per_page));
    if (pages <= 1) return h("p", {cls: "muted count", text: data.total + " in all"});
    return h("div", {cls: "pager"},
      h("button", {type: "button", disabled: data.page <= 1, on: {click: function () { go(data.page - 1); }}}, "‹ Newer"),
      h("span", {text: "page " + data.page + " of " + pages + " (" + data.total + ")"}),
      h("button", {type: "button", disabled: data.page >= pages, on: {click: function () { go(data.page + 1); }}}, "Older ›"));
  };
  // A paged table in `list`: load() asks `url` for its page (with params(), when given),
  // draws the rows and a pager that turns the page.
  C.pagedTable = function (list, url, columns, empty, params) {
    var paged = {page: 1};
    paged.load = function () {
      var query = params ? params() : {};
      query.page = paged.page;
      return C.get(url + C.query(query)).then(function (data) {
        C.clear(list).appendChild(C.table(columns, data.items, empty));
        list.appendChild(C.pager(data, function (n) { paged.page = n; paged.load(); }));
      }).catch(C.failed);
    };
    return paged;
  };
  C.status = function (text) { return h("span", {cls: "status s-" + String(text).replace(/[^a-z_]/g, ""), text: text}); };
  C.link = function (href, text) { return h("a", {href: href, text: text}); };
  C.button = function (text, onClick, cls) {
    return h("button", {type: "button", cls: cls || "", on: {click: function (ev) {
      var b = ev.currentTarget; b.disabled = true;
      Promise.resolve(onClick(ev)).catch(C.failed).then(function () { b.disabled = false; });
    }}}, text);
  };
  C.field = function (label, input, cls) { return h("label", {cls: "field" + (cls ? " " + cls : "")}, h("span", {text: label}), input); };
  C.isAdmin = function () { return C.me && C.me.role === "admin"; };
  /* Call `fn` `ms` after the first call, once for all calls meanwhile (live updates: a
     burst of events reloads a page a few times a second, not once per event nor never). */
  C.debounce = function (fn, ms) {
    var timer = null;
    return function () {
      if (timer === null) timer = setTimeout(function () { timer = null; fn(); }, ms || 250);
    };
  };
  C.query = function (params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== "" && params[k] !== null && params[k] !== undefined)
        parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
    });
    return parts.length ? "?" + parts.join("&") : "";
  };
  /* An SVG the server drew at the container's width (so its labels keep their size on a
     phone), put inline so its tooltips work. */
  C.svg = function (container, path) {
    var width = Math.floor(container.clientWidth - 2) || 640;
    return fetch(path + (path.indexOf("?") < 0 ? "?" : "&") + "width=" + width, {credentials: "same-origin"}).then(function (r) { return r.text(); }).then(function (text) {
      var doc = new DOMParser().parseFromString(text, "image/svg+xml");
      C.clear(container).appendChild(document.importNode(doc.documentElement, true));
    });
  };

  // -- live events

  var live = document.getElementById("live");
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws" + (C.lastEventId ? "?after=" + C.lastEventId : ""));
    var opened = false;
    ws.onopen = function () { opened = true; live.textContent = "live"; live.className = "live on"; };
    ws.onmessage = function (m) {
      var e = JSON.parse(m.data);
      if (e.id <= C.lastEventId) return;
      C.lastEventId = e.id;
      live.className = "live on pulse";
      setTimeout(function () { live.className = "live on"; }, 300);
      if (C.current && C.current.onEvent) {
        try { C.current.onEvent(e); } catch (err) { console.error(err); }
      }
    };
    ws.onclose = function () {
      live.textContent = "reconnecting…"; live.className = "live";
      if (!opened) { C.get("/api/admin/me").then(function () { setTimeout(connect, 2000); }).catch(function () {}); }
      else setTimeout(connect, 1000);
    };
  }

  // -- start

  function start() {
    C.get("/api/admin/me").then(function (me) {
      C.me = me;
      document.getElementById("site-name").textContent = me.site.name;
      document.title = me.site.name + " · console";
      document.getElementById("who").textContent = me.username + " (" + me.role + ")";
      document.querySelectorAll("[data-role=admin]").forEach(function (el) { if (!C.isAdmin()) el.remove(); });
      var path = location.pathname;
      document.querySelectorAll("#nav a").forEach(function (a) {
        var href = a.getAttribute("href");
        if (href === path || (href !== "/" && path.indexOf(href + "/") === 0)) a.className = "here";
      });
      menu();
      C.lastEventId = me.last_event_id || 0;  // events after this come over /ws; pages load what is before
    }).then(function () {
      route();
      connect();
    }).catch(C.failed);
    document.getElementById("logout").addEventListener("click", function () {
      C.post("/logout").then(function () { location.href = "/login"; }).catch(C.failed);
    });
  }

  /* On a phone the menu is one row: the page you are on and a Menu button that opens the rest. */
  function menu() {
    var nav = document.getElementById("nav"), toggle = document.getElementById("menu-toggle");
    toggle.addEventListener("click", function () {
      var open = !nav.classList.contains("open");
      nav.classList.toggle("open", open);
      toggle.setAttribute("aria-expanded", String(open));
    });
  }

  function route() {
    var path = location.pathname, page = null, arg = null, m;
    if (path === "/") page = "dashboard";
    else if ((m = path.match(/^\/payments\/(\d+)$/))) { page = "payment"; arg = m[1]; }
    else if ((m = path.match(/^\/customers\/(\d+)$/))) { page = "customer"; arg = m[1]; }
    else if ((m = path.match(/^\/subscribers\/(\d+)$/))) { page = "subscriber"; arg = m[1]; }
    else if ((m = path.match(/^\/vouchers\/([^/]+)$/))) { page = "batch"; arg = decodeURIComponent(m[1]); }
    else page = path.slice(1);
    var render = C.pages[page];
    if (!render) { C.clear(C.main()).appendChild(h("p", {text: "No such page."})); return; }
    C.current = render(arg) || {};
  }

  document.addEventListener("DOMContentLoaded", start);
})();
