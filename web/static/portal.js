// Captive portal: pay (M-Pesa prompt or Paybill), vouchers, "already paid?", login,
// the device's own account; then log the device in at the router (CHAP, as MikroTik's
// own login page does; PAP only when the router gives no CHAP challenge).
(function () {
  "use strict";
  // The page's data comes as JSON blocks, not inline script (the portal's CSP allows none).
  function data(id) {
    var node = document.getElementById(id);
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }
  var hs = window.HOTSPOT = data("hotspot-page");
  var T = window.T = data("hotspot-texts");
  var STORE = "hotspot.login";
  var PENDING_FOR = 300000; // ms: how long a payment may stay pending before we say "timed out"
  var NO_PROMPT_AFTER = 30000; // ms before "didn't get the prompt?"

  function t(key, values) {
    var text = T[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.split("{" + name + "}").join(values[name]); });
    return text;
  }
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (k === "onclick") { node.onclick = attrs[k]; }
      else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function say(text, isError) {
    var status = $("status");
    status.textContent = text || "";
    status.className = isError ? "error" : "";
  }
  function device() { return {mac: hs.mac || null, ip: hs.ip || null}; }
  function query() { return "?mac=" + encodeURIComponent(hs.mac || "") + "&ip=" + encodeURIComponent(hs.ip || ""); }

  function call(method, url, body) {
    var options = {method: method, headers: {"Content-Type": "application/json"}, credentials: "same-origin"};
    if (body) { options.body = JSON.stringify(body); }
    return fetch(url, options).then(function (r) {
      return r.json().then(function (j) { return {ok: r.ok, status: r.status, body: j}; },
                          function () { return {ok: false, status: r.status, body: {}}; });
    });
  }
  function failed(res, form) {
    var message = (res.body && res.body.error) || t("error");
    if (!form) { say(message, true); return; }
    var box = form.querySelector(".form-error"); // next to what the customer just typed
    if (!box) { box = el("p", {"class": "form-error error", role: "alert"}); form.appendChild(box); }
    box.textContent = message;
    say("");
  }
  function offline() { say(t("no_connection"), true); }

  // -- CHAP: md5(chap-id + password + chap-challenge) in hex, over bytes --------------
  function octal(text) {
    return (text || "").replace(/\\([0-7]{3})/g, function (_, o) { return String.fromCharCode(parseInt(o, 8)); });
  }
  function md5hex(s) {
    function add(x, y) { var l = (x & 0xffff) + (y & 0xffff); return (((x >> 16) + (y >> 16) + (l >> 16)) << 16) | (l & 0xffff); }
    function rol(n, c) { return (n << c) | (n >>> (32 - c)); }
    function cmn(q, a, b, x, s, k) { return add(rol(add(add(a, q), add(x, k)), s), b); }
    function ff(a, b, c, d, x, s, k) { return cmn((b & c) | (~b & d), a, b, x, s, k); }
    function gg(a, b, c, d, x, s, k) { return cmn((b & d) | (c & ~d), a, b, x, s, k); }
    function hh(a, b, c, d, x, s, k) { return cmn(b ^ c ^ d, a, b, x, s, k); }
    function ii(a, b, c, d, x, s, k) { return cmn(c ^ (b | ~d), a, b, x, s, k); }
    var n = s.length, words = [], i;
    for (i = 0; i < n; i++) { words[i >> 2] |= (s.charCodeAt(i) & 0xff) << ((i % 4) * 8); }
    words[n >> 2] |= 0x80 << ((n % 4) * 8);
    var total = (((n + 8) >> 6) + 1) * 16;
    for (i = 0; i < total; i++) { words[i] = words[i] || 0; }
    words[total - 2] = n * 8;
    var a = 1732584193, b = -271733879, c = -1732584194, d = 271733878;
    var F = [7, 12, 17, 22], G = [5, 9, 14, 20], H = [4, 11, 16, 23], I = [6, 10, 15, 21];
    for (i = 0; i < total; i += 16) {
      var oa = a, ob = b, oc = c, od = d, j, k, x, tmp;
      for (j = 0; j < 64; j++) {
        k = Math.floor(Math.abs(Math.sin(j + 1)) * 4294967296) | 0;
        if (j < 16) { x = j; tmp = ff(a, b, c, d, words[i + x], F[j % 4], k); }
        else if (j < 32) { x = (5 * j + 1) % 16; tmp = gg(a, b, c, d, words[i + x], G[j % 4], k); }
        else if (j < 48) { x = (3 * j + 5) % 16; tmp = hh(a, b, c, d, words[i + x], H[j % 4], k); }
        else { x = (7 * j) % 16; tmp = ii(a, b, c, d, words[i + x], I[j % 4], k); }
        a = d; d = c; c = b; b = tmp;
      }
      a = add(a, oa); b = add(b, ob); c = add(c, oc); d = add(d, od);
    }
    var hex = "";
    [a, b, c, d].forEach(function (w) {
      for (var q = 0; q < 4; q++) { hex += ("0" + ((w >> (q * 8)) & 0xff).toString(16)).slice(-2); }
    });
    return hex;
  }
  window.hotspotMd5 = md5hex; // for the page's own tests

  // -- logging the device in at the router -------------------------------------------
  function routerLogin(username, password, done) {
    var form = $("router-login");
    if (!hs.linkLogin || !form) { done(false); return; }
    form.username.value = username;
    form.password.value = hs.chapId ? md5hex(octal(hs.chapId) + password + octal(hs.chapChallenge)) : password;
    var frame = $("router-frame"), finished = false;
    function end() { if (!finished) { finished = true; done(true); } }
    frame.onload = end;
    setTimeout(end, 8000);
    form.submit();
  }
  function remember(view) {
    try { localStorage.setItem(STORE, JSON.stringify({username: view.username, password: view.password})); } catch (e) { /* private mode */ }
  }
  function remembered() {
    try { return JSON.parse(localStorage.getItem(STORE) || "null"); } catch (e) { return null; }
  }

  // -- what the customer has ----------------------------------------------------------
  function facts(view) {
    var rows = [["package", view.package], ["valid", view.expires_text], ["time_left", view.time_left_text],
                ["data_left", view.data_left_text]];
    if (view.devices_allowed > 1 || view.devices_in_use > 1) {
      rows.push(["devices", t("devices_of", {n: view.devices_in_use || 0, m: view.devices_allowed})]);
    }
    return el("dl", {"class": "facts"}, [].concat.apply([], rows.filter(function (r) { return r[1]; }).map(function (r) {
      return [el("dt", {text: t(r[0])}), el("dd", {text: String(r[1])})];
    })));
  }
  function hide() {
    Array.prototype.forEach.call(arguments, function (id) { var node = $(id); if (node) { node.hidden = true; } });
  }
  function show(card, nodes) {
    var box = $(card);
    box.innerHTML = "";
    nodes.forEach(function (n) { if (n) { box.appendChild(n); } });
    box.hidden = false;
    return box;
  }
  function online(view) {
    stop(); // whatever was being paid for, this is the answer
    remember(view);
    say(t("logging_in"));
    routerLogin(view.username, view.password, function () { confirm(view, 0); });
  }
  // Says "online" only when hotspotd sees the device's session (the router let it on); until
  // then the login is shown as ready, with a button that tries the router again.
  var CONFIRM_TRIES = 6;
  function confirm(view, tries) {
    call("GET", "/api/portal/status?fresh=1").then(function (res) {
      var v = res.body || {};
      if (res.ok && v.online && v.username === view.username) { shown(Object.assign({}, view, v), true); return; }
      if (tries + 1 < CONFIRM_TRIES && (hs.linkLogin || v.verified)) {
        setTimeout(function () { confirm(view, tries + 1); }, 1500);
        return;
      }
      shown(view, false);
    }, function () { shown(view, false); });
  }
  function shown(view, isOnline) {
    say("");
    var nodes = [el("h2", {text: t(isOnline ? "online_title" : "ready_title")}), facts(view),
      el("p", {"class": "hint", text: t(isOnline ? "other_device" : "ready_hint")}),
      el("dl", {"class": "facts credentials"}, [el("dt", {text: t("username")}), el("dd", {"class": "secret", id: "shown-username", text: view.username}),
                                                el("dt", {text: t("password")}), el("dd", {"class": "secret", id: "shown-password", text: view.password})])];
    if (!isOnline && hs.linkLogin) {
      nodes.push(el("button", {"class": "primary", type: "button", id: "go-online", text: t("go_online"),
                               onclick: function () { online(view); }}));
    }
    if (isOnline && hs.linkOrig) { nodes.push(el("a", {"class": "button primary", href: hs.linkOrig, text: t("continue")})); }
    show("progress", nodes).scrollIntoView();
    hide("buy", "trial", "account");
  }

  // -- paying -------------------------------------------------------------------------
  var attempt = null; // {packageId, phone, ids: [payment ids], started, timer}
  function chosenPackage() {
    var chosen = document.querySelector("input[name=package_id]:checked");
    return chosen ? Number(chosen.value) : null;
  }
  function buyButtons(disabled, label) {
    var pay = $("pay-button");
    if (pay) { pay.disabled = disabled; pay.textContent = label || t("pay_button"); pay.className = disabled ? "primary busy" : "primary"; }
    var paybill = $("paybill-button");
    if (paybill) { paybill.disabled = disabled; }
  }
  function stop() { if (attempt && attempt.timer) { clearTimeout(attempt.timer); } attempt = null; buyButtons(false); }
  function endedMessage(p) {
    if (p.status === "failed" && p.result_code === "1") { return t("ended.insufficient"); }
    if (p.status === "failed" && p.result_code === "2001") { return t("ended.wrong_pin"); }
    if (p.status === "expired" && p.method === "c2b") { return t("ended.paybill_expired"); }
    return t("ended." + p.status);
  }
  function retryCard(message) {
    var packageId = chosenPackage();
    show("progress", [el("h2", {text: t("not_paid_title")}), el("p", {"class": "error", text: message}),
      el("button", {"class": "primary", type: "button", id: "try-again", text: t("try_again"), onclick: function () {
        $("progress").hidden = true; $("buy").hidden = false; buyButtons(false); $("pay-button").focus();
      }}),
      hs.paybill ? el("button", {"class": "secondary", type: "button", text: t("use_paybill"), onclick: function () { startPaybill(packageId); }}) : null]);
  }
  function waitingCard(amount, phone) {
    var elapsed = el("p", {"class": "elapsed", id: "elapsed"});
    var help = el("div", {id: "no-prompt", hidden: ""}, [el("p", {text: t("no_prompt")}),
      el("button", {"class": "secondary", type: "button", id: "send-again", text: t("send_again"), onclick: function () { startPay(attempt.packageId, attempt.phone, true); }}),
      hs.paybill ? el("button", {"class": "secondary", type: "button", id: "to-paybill", text: t("use_paybill"), onclick: function () { startPaybill(attempt.packageId); }}) : null]);
    show("progress", [el("h2", {text: t("check_phone")}),
      el("ol", {"class": "steps"}, [el("li", {text: t("prompt_sent", {amount: amount, phone: phone})}),
                                    el("li", {text: t("enter_pin", {amount: amount})}),
                                    el("li", {text: t("keep_open")})]),
      el("div", {"class": "progressbar", role: "progressbar"}, [el("span", {"class": "fill"})]), elapsed, help]);
  }
  function tick() {
    if (!attempt) { return; }
    var gone = Date.now() - attempt.started, elapsed = $("elapsed"), help = $("no-prompt");
    if (elapsed) { elapsed.textContent = t("waiting", {seconds: Math.floor(gone / 1000)}); }
    if (help && gone > NO_PROMPT_AFTER) { help.hidden = false; }
  }
  function poll() {
    if (!attempt) { return; }
    tick();
    var current = attempt;
    Promise.all(current.ids.map(function (id) { return call("GET", "/api/portal/payments/" + encodeURIComponent(id) + query()); }))
      .then(function (answers) {
        if (attempt !== current) { return; }
        var views = answers.map(function (a) { return a.body || {}; });
        var paid = views.filter(function (p) { return p.status === "paid" && p.username; })[0];
        if (paid) { stop(); online(paid); return; }
        var open = views.filter(function (p) { return p.status === "pending"; });
        if (!open.length) { stop(); retryCard(endedMessage(views[views.length - 1])); return; }
        if (Date.now() > current.deadline) { stop(); retryCard(t("ended.expired")); return; }
        current.timer = setTimeout(poll, 2000);
      }, function () { if (attempt === current) { current.timer = setTimeout(poll, 3000); } });
  }
  function track(paymentId) {
    attempt.ids.push(paymentId);
    if (attempt.timer) { clearTimeout(attempt.timer); }
    attempt.timer = setTimeout(poll, 1500);
  }
  function startPay(packageId, phone, again) {
    if (!packageId || !phone) { say(t("choose"), true); return; }
    say("");
    buyButtons(true, t("waiting_button"));
    var sendAgain = $("send-again");
    if (sendAgain) { sendAgain.disabled = true; }
    call("POST", "/api/portal/pay", {package_id: packageId, phone: phone, mac: hs.mac || null, ip: hs.ip || null,
                                     top_up: !!topUp})
      .then(function (res) {
        if (!res.ok) {
          if (sendAgain) { sendAgain.disabled = false; }
          if (!again) { buyButtons(false); }
          failed(res);
          return;
        }
        if (!again || !attempt) { stop(); buyButtons(true, t("waiting_button")); attempt = {packageId: packageId, phone: phone, ids: []}; }
        attempt.started = Date.now();
        attempt.deadline = Math.max(attempt.deadline || 0, attempt.started + PENDING_FOR);
        waitingCard(priceOf(packageId), phone);
        track(res.body.payment_id);
      }, function () { buyButtons(false); offline(); });
  }
  function priceOf(packageId) {
    var label = document.querySelector("input[name=package_id][value='" + packageId + "']");
    var price = label && label.parentNode.querySelector(".price");
    return price ? price.textContent.replace(/[^0-9]/g, "") : "";
  }
  function startPaybill(packageId) {
    if (!packageId) { say(t("choose"), true); return; }
    say("");
    call("POST", "/api/portal/paybill", {package_id: packageId, mac: hs.mac || null, ip: hs.ip || null, top_up: !!topUp})
      .then(function (res) {
        if (!res.ok) { failed(res); return; }
        var o = res.body;
        if (!attempt) { attempt = {packageId: packageId, phone: null, ids: [], started: Date.now()}; }
        attempt.deadline = Math.max(attempt.deadline || 0, Date.parse(o.expires_at) || Date.now() + PENDING_FOR);
        buyButtons(true, t("waiting_button"));
        show("progress", [el("h2", {text: t("paybill_title")}),
          el("ol", {"class": "steps"}, [el("li", {text: t("paybill_menu")}),
            el("li", {}, [document.createTextNode(t("business_number") + " "), el("strong", {id: "paybill-number", text: o.business_number})]),
            el("li", {}, [document.createTextNode(t("account_number") + " "), el("strong", {id: "paybill-account", text: o.account})]),
            el("li", {}, [document.createTextNode(t("amount") + " "), el("strong", {text: "KES " + o.amount})]),
            el("li", {text: t("paybill_pin")})]),
          el("p", {"class": "hint", text: t("paybill_valid", {until: o.expires_text})}),
          el("div", {"class": "progressbar waiting", role: "progressbar"}, [el("span", {"class": "fill"})]),
          el("p", {"class": "elapsed", id: "elapsed"})]);
        track(o.payment_id);
      }, offline);
  }

  // -- the device's own account -------------------------------------------------------
  var topUp = false;
  function loadAccount() {
    if (!hs.mac && !hs.ip) { return; }
    call("GET", "/api/portal/status" + query()).then(function (res) {
      var v = res.body || {};
      if (!res.ok || !v.known) { return; }
      var saved = remembered();
      var nodes = [el("h2", {text: v.online ? t("online_title") : t("your_package")}), facts(v)];
      var login = v.password ? {username: v.username, password: v.password}
                             : (saved && saved.username === v.username ? saved : null);
      if (!v.online && login) { // this device's own package, not logged in: one tap
        nodes.push(el("button", {"class": "primary", type: "button", id: "go-online", text: t("go_online"),
                                 onclick: function () { online(Object.assign({}, v, login)); }}));
      }
      nodes.push(el("button", {"class": v.online ? "primary" : "secondary", type: "button", id: "buy-more",
                               text: t("buy_more"), onclick: function () {
        topUp = true; hide("progress"); $("buy").hidden = false; buyButtons(false);
        say(t("buy_more_hint")); $("buy").scrollIntoView();
      }}));
      if (v.online) {
        nodes.push(el("button", {"class": "secondary", type: "button", id: "log-out", text: t("log_out"), onclick: logOut}));
        hide("buy", "trial"); // the status page: buying is one tap away
      }
      show("account", nodes);
    }, function () { /* the page works without it */ });
  }
  function logOut() {
    var login = remembered();
    var done = function () { say(t("logged_out")); hide("account"); $("buy").hidden = false; };
    if (hs.linkLogout) { $("router-frame").src = hs.linkLogout; }
    if (!login) { done(); return; }
    call("POST", "/api/portal/logout", {username: login.username, password: login.password, mac: hs.mac || null, ip: hs.ip || null})
      .then(function (res) { if (res.ok) { done(); } else { failed(res); } }, offline);
  }

  // -- the forms ----------------------------------------------------------------------
  function onSubmit(id, handler) {
    var form = $(id);
    if (form) { form.addEventListener("submit", function (ev) { ev.preventDefault(); handler(form); }); }
  }
  function simple(form, url, body, keep) {
    var buttons = form.querySelectorAll("button");
    function enable(on) { Array.prototype.forEach.call(buttons, function (b) { b.disabled = !on; }); }
    enable(false);
    say(t("working"));
    var shown = form.querySelector(".form-error");
    if (shown) { shown.textContent = ""; }
    call("POST", url, body).then(function (res) {
      enable(true);
      if (!res.ok) { failed(res, form); return; }
      online(Object.assign({}, res.body, keep || {}));
    }, function () { enable(true); offline(); });
  }
  onSubmit("pay-form", function (form) { startPay(chosenPackage(), form.phone.value.trim(), false); });
  onSubmit("voucher-form", function (form) { simple(form, "/api/portal/voucher", Object.assign({code: form.code.value}, device())); });
  // "Already paid?": a code hotspotd never heard of is checked with M-Pesa (202 "checking"):
  // the page says so and asks again until M-Pesa has answered.
  onSubmit("restore-form", function (form) {
    var buttons = form.querySelectorAll("button");
    function enable(on) { Array.prototype.forEach.call(buttons, function (b) { b.disabled = !on; }); }
    function answered(res) {
      if (res.status === 202 && res.body && res.body.restore_id) {
        say(t("checking_mpesa"));
        setTimeout(function () {
          call("GET", "/api/portal/restore/" + encodeURIComponent(res.body.restore_id)).then(answered, retry);
        }, 2000);
        return;
      }
      enable(true);
      if (!res.ok) { failed(res, form); return; }
      online(res.body);
    }
    function retry() { enable(true); offline(); }
    enable(false);
    say(t("working"));
    var shown = form.querySelector(".form-error");
    if (shown) { shown.textContent = ""; }
    call("POST", "/api/portal/restore", Object.assign({receipt: form.receipt.value, phone: form.phone.value}, device()))
      .then(answered, retry);
  });
  onSubmit("login-form", function (form) {
    var given = {username: form.username.value.trim(), password: form.password.value};
    simple(form, "/api/portal/login", Object.assign({}, given, device()), given); // the answer does not repeat the password
  });
  onSubmit("trial-form", function (form) { simple(form, "/api/portal/trial", device()); });
  var paybillButton = $("paybill-button");
  if (paybillButton) {
    paybillButton.hidden = false;
    paybillButton.addEventListener("click", function () { startPaybill(chosenPackage()); });
  }
  loadAccount();
})();
